//! Binding a swab to a tube at the sampling table: [`BindingState::decide`] judges one scan against
//! the state the store loads in its transaction (tubes, issued batches, the register, swabs already
//! taken, rechecks owed) and updates that state, so a group of scans behaves like the same scans
//! sent one by one.

use std::collections::HashMap;
use std::fmt;

use super::{SamplePurpose, ScanRejection, TubeBarcode};

/// A person as binding keys them: `(id_number, id_type)` as stored.
pub type PersonKey = (String, String);

/// A tube as binding sees it (a stored one, or one this group opened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tube {
    pub barcode: String,
    pub round_id: i64,
    pub site_id: i64,
    pub table_no: i64,
    pub region_code: String,
    pub purpose: SamplePurpose,
    pub capacity: i64,
    pub members: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

/// A range of serials issued to a round (下发试管): a barcode in it may open a new tube.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TubeBatch {
    pub round_id: i64,
    pub first_serial: i64,
    pub last_serial: i64,
}

/// A register resident a scan may name. Holds a name: `Debug` masks it.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredPerson {
    pub id: i64,
    pub name: String,
    pub grid_code: String,
}

impl fmt::Debug for RegisteredPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredPerson")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A swab already taken: which tube, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleTaken {
    pub tube: String,
    pub sampled_at: i64,
}

/// Everything binding decides on, loaded by the store in the scans' transaction and updated by
/// each decision.
#[derive(Debug, Default, Clone)]
pub struct BindingState {
    /// By barcode.
    pub tubes: HashMap<String, Tube>,
    /// Needed only when a scan names a barcode without a tube.
    pub batches: Vec<TubeBatch>,
    pub residents: HashMap<PersonKey, RegisteredPerson>,
    /// Per person, round and occasion (0 or the routine day; a recheck's occasion is its task id).
    pub taken: HashMap<(PersonKey, i64, i64), SampleTaken>,
    /// Pending recheck task ids per person: one recheck swab settles all of them.
    pub pending: HashMap<PersonKey, Vec<i64>>,
}

/// The person a scan names. Holds personal data: `Debug` masks it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ScannedPerson<'a> {
    pub id_type: &'a str,
    pub id_number: &'a str,
    /// As read from the card or typed; may be empty for a register resident.
    pub name: &'a str,
}

impl fmt::Debug for ScannedPerson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScannedPerson")
            .field("id_type", &self.id_type)
            .finish_non_exhaustive()
    }
}

/// One scan from a sampling table.
#[derive(Debug, Clone, Copy)]
pub struct Scan<'a> {
    pub round_id: i64,
    /// The round's region as a code range: residents outside are flagged, not refused.
    pub round_range: (&'a str, &'a str),
    /// 0 for a whole/area round's screening swab, the Beijing day number for routine testing.
    pub screen_occasion: i64,
    pub site_id: i64,
    pub site_region: &'a str,
    pub table_no: i64,
    pub tube: &'a TubeBarcode,
    /// Pool size a new screening tube gets at this site (recheck tubes always hold one).
    pub new_tube_capacity: i64,
    pub purpose: SamplePurpose,
    /// `None`: close the tube (封管) instead of binding someone.
    pub person: Option<ScannedPerson<'a>>,
    pub sampled_at: i64,
}

/// What one scan does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Bound(Binding),
    /// The tube is closed by hand; `newly_closed` is false when it already was (nothing to write).
    Closed {
        tube_members: i64,
        newly_closed: bool,
    },
    Rejected(ScanRejection),
}

/// A swab bound to a tube: the sample row to write and the tube as it now is.
#[derive(Clone, PartialEq, Eq)]
pub struct Binding {
    /// 0/the routine day for a screening swab, the first settled task's id for a recheck.
    pub occasion: i64,
    /// The recheck tasks this swab settles (empty for a screening swab).
    pub settles_tasks: Vec<i64>,
    /// The register resident, when the person is one.
    pub resident_id: Option<i64>,
    /// The register's name, or the name typed for someone outside the register.
    pub name: String,
    /// The resident's grid, or the site's region for someone outside the register.
    pub grid_code: String,
    /// A resident of a grid outside the round's region (counted, flagged, not refused).
    pub outside_area: bool,
    pub tube_members: i64,
    pub capacity: i64,
    /// The tube closed itself: this swab filled it.
    pub tube_closed: bool,
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("occasion", &self.occasion)
            .field("settles_tasks", &self.settles_tasks)
            .field("resident_id", &self.resident_id)
            .field("outside_area", &self.outside_area)
            .field("tube_members", &self.tube_members)
            .field("capacity", &self.capacity)
            .field("tube_closed", &self.tube_closed)
            .finish_non_exhaustive()
    }
}

impl BindingState {
    /// Decides one scan against the state so far and applies it to the state: a binding adds the
    /// person to the tube (opening it from its batch, closing it when full), records them as
    /// taken and settles their rechecks; a close closes the tube.
    pub fn decide(&mut self, scan: &Scan<'_>, now: i64) -> Decision {
        let Some(person) = scan.person else {
            return match self.tubes.get_mut(scan.tube.as_str()) {
                None => Decision::Rejected(ScanRejection::NothingToClose),
                Some(tube) if tube.round_id != scan.round_id => {
                    Decision::Rejected(ScanRejection::TubeOfOtherRound)
                }
                Some(tube) => {
                    let newly_closed = tube.closed_at.is_none();
                    if newly_closed {
                        tube.closed_at = Some(now);
                    }
                    Decision::Closed {
                        tube_members: tube.members,
                        newly_closed,
                    }
                }
            };
        };
        if let Err(rejection) = self.check_tube(scan) {
            return Decision::Rejected(rejection);
        }
        let key = (person.id_number.to_string(), person.id_type.to_string());
        let typed_name = person.name.trim();
        let resident = self.residents.get(&key);
        match resident {
            None if typed_name.is_empty() => {
                return Decision::Rejected(ScanRejection::NameMissing);
            }
            Some(r) if !typed_name.is_empty() && typed_name != r.name => {
                return Decision::Rejected(ScanRejection::NameMismatch {
                    registered: crate::ids::mask_middle(&r.name, 1, 0),
                });
            }
            _ => {}
        }
        let (occasion, settles_recheck) = match scan.purpose {
            SamplePurpose::Screen => {
                if self.pending.contains_key(&key) {
                    return Decision::Rejected(ScanRejection::RecheckPending);
                }
                (scan.screen_occasion, false)
            }
            SamplePurpose::Recheck => {
                match self.pending.get(&key).and_then(|tasks| tasks.iter().min()) {
                    Some(first) => (*first, true),
                    None => return Decision::Rejected(ScanRejection::NoRecheckTask),
                }
            }
        };
        let (resident_id, name, grid_code, outside_area) = match resident {
            Some(r) => (
                Some(r.id),
                r.name.clone(),
                r.grid_code.clone(),
                !(r.grid_code.as_str() >= scan.round_range.0
                    && r.grid_code.as_str() < scan.round_range.1),
            ),
            None => (
                None,
                typed_name.to_string(),
                scan.site_region.to_string(),
                false,
            ),
        };
        let taken_key = (key, scan.round_id, occasion);
        if let Some(taken) = self.taken.get(&taken_key) {
            return Decision::Rejected(ScanRejection::AlreadySampled {
                tube: taken.tube.clone(),
                sampled_at: taken.sampled_at,
            });
        }
        let settles_tasks = if settles_recheck {
            self.pending.remove(&taken_key.0).unwrap_or_default()
        } else {
            Vec::new()
        };
        self.taken.insert(
            taken_key,
            SampleTaken {
                tube: scan.tube.as_str().to_string(),
                sampled_at: scan.sampled_at,
            },
        );
        let tube = self
            .tubes
            .entry(scan.tube.as_str().to_string())
            .or_insert_with(|| Tube {
                barcode: scan.tube.as_str().to_string(),
                round_id: scan.round_id,
                site_id: scan.site_id,
                table_no: scan.table_no,
                region_code: scan.site_region.to_string(),
                purpose: scan.purpose,
                capacity: match scan.purpose {
                    SamplePurpose::Screen => scan.new_tube_capacity,
                    SamplePurpose::Recheck => 1,
                },
                members: 0,
                opened_at: now,
                closed_at: None,
            });
        tube.members += 1;
        if tube.members >= tube.capacity {
            tube.closed_at = Some(now);
        }
        Decision::Bound(Binding {
            occasion,
            settles_tasks,
            resident_id,
            name,
            grid_code,
            outside_area,
            tube_members: tube.members,
            capacity: tube.capacity,
            tube_closed: tube.closed_at.is_some(),
        })
    }

    /// The tube may take this swab: a known tube of this round, at this table, open, for this
    /// purpose; or a new barcode from a batch issued to this round.
    fn check_tube(&self, scan: &Scan<'_>) -> Result<(), ScanRejection> {
        match self.tubes.get(scan.tube.as_str()) {
            Some(tube) => {
                if tube.round_id != scan.round_id {
                    return Err(ScanRejection::TubeOfOtherRound);
                }
                if tube.site_id != scan.site_id || tube.table_no != scan.table_no {
                    return Err(ScanRejection::TubeAtOtherTable);
                }
                if tube.closed_at.is_some() {
                    return Err(if tube.members >= tube.capacity {
                        ScanRejection::TubeFull {
                            capacity: tube.capacity,
                        }
                    } else {
                        ScanRejection::TubeClosed
                    });
                }
                if tube.purpose != scan.purpose {
                    return Err(ScanRejection::TubePurposeMismatch {
                        tube_purpose: tube.purpose,
                    });
                }
                Ok(())
            }
            None => {
                let serial = scan.tube.serial() as i64;
                let batch = self
                    .batches
                    .iter()
                    .find(|b| b.first_serial <= serial && serial <= b.last_serial);
                match batch {
                    None => Err(ScanRejection::UnknownTube),
                    Some(b) if b.round_id != scan.round_id => Err(ScanRejection::TubeOfOtherRound),
                    Some(_) => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
        })
    }

    #[test]
    fn each_scan_is_decided_by_the_table() {
        use SamplePurpose::{Recheck, Screen};
        let zhang = Some((1, "张三", "110101001001"));
        let rows: Vec<(&str, u64, SamplePurpose, Option<(&str, &str)>, Decision)> = vec![
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
    fn debug_masks_the_people() {
        let mut state = state();
        let decision = decide(&mut state, 5, SamplePurpose::Screen, Some(("A", "")));
        let text = format!("{decision:?} {:?}", state.residents[&key("A")]);
        assert!(!text.contains("张三"), "{text}");
    }
}
