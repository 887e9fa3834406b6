//! Binding a swab to a tube at the sampling table: [`BindingState::decide`] judges one scan against
//! the state the store loads in its transaction (tubes, issued batches, the register, swabs already
//! taken, rechecks owed) and updates that state, so a group of scans behaves like the same scans
//! sent one by one.

use std::collections::HashMap;
use std::fmt;

use super::*;

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
    /// As registered; `None` when the register has none (or one that is not a date).
    pub birth_date: Option<NaiveDate>,
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
    /// Residents born after this date are infants the round left out of its target
    /// ([`infant_cutoff`] of the round's opening day); `None` when it left out none.
    pub infant_cutoff: Option<NaiveDate>,
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
    /// A resident infant the round left out of its target, screened after all: they join the
    /// target of their grid (and of the round), or the grid would show more swabbed than due.
    pub joins_target: bool,
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
            .field("joins_target", &self.joins_target)
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
        let joins_target = scan.purpose == SamplePurpose::Screen
            && resident.is_some_and(|r| left_out_as_infant(r.birth_date, scan.infant_cutoff));
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
            joins_target,
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

/// A resident born after the round's infant cutoff was left out of its target; one without a
/// registered birth date was counted in it.
fn left_out_as_infant(birth_date: Option<NaiveDate>, cutoff: Option<NaiveDate>) -> bool {
    matches!((birth_date, cutoff), (Some(born), Some(cutoff)) if born > cutoff)
}

crate::coded_enum! {
    /// Why a person is swabbed: the round's screening swab, or a single-tube recheck someone owes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SamplePurpose {
        Screen => "screen", "筛查",
        Recheck => "recheck", "单管复采",
    }
}

/// A scan refused at the sampling table, each with the words a recorder acts on (§5.4: the failure
/// points that make a result go missing are caught here, at entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ScanRejection {
    /// The barcode is well formed but was never issued.
    UnknownTube,
    TubeOfOtherRound,
    TubeAtOtherTable,
    TubeFull {
        capacity: i64,
    },
    TubeClosed,
    /// A pooled screening tube used for a recheck, or a recheck tube for screening.
    TubePurposeMismatch {
        tube_purpose: SamplePurpose,
    },
    NothingToClose,
    AlreadySampled {
        tube: String,
        sampled_at: i64,
    },
    /// The person owes a single-tube recheck: screening them again into a pool would hide it.
    RecheckPending,
    NoRecheckTask,
    /// Not in the register and no name given: the result could never be matched to a person.
    NameMissing,
    /// The register holds another name for this ID number: likely a wrong number or someone else's card.
    NameMismatch {
        registered: String,
    },
}

impl ScanRejection {
    pub fn code(&self) -> &'static str {
        match self {
            ScanRejection::UnknownTube => "unknown_tube",
            ScanRejection::TubeOfOtherRound => "tube_of_other_round",
            ScanRejection::TubeAtOtherTable => "tube_at_other_table",
            ScanRejection::TubeFull { .. } => "tube_full",
            ScanRejection::TubeClosed => "tube_closed",
            ScanRejection::TubePurposeMismatch { .. } => "tube_purpose_mismatch",
            ScanRejection::NothingToClose => "nothing_to_close",
            ScanRejection::AlreadySampled { .. } => "already_sampled",
            ScanRejection::RecheckPending => "recheck_pending",
            ScanRejection::NoRecheckTask => "no_recheck_task",
            ScanRejection::NameMissing => "name_missing",
            ScanRejection::NameMismatch { .. } => "name_mismatch",
        }
    }

    /// The message for the recorder; `time` formats a unix time as the page shows it.
    pub fn message_zh(&self, time: impl Fn(i64) -> String) -> String {
        match self {
            ScanRejection::UnknownTube => {
                "这支试管的条码不在本轮下发的条码范围内，不能使用；请换一支本轮下发的试管".into()
            }
            ScanRejection::TubeOfOtherRound => {
                "这支试管属于其他轮次，不能在本轮使用；请换一支本轮下发的试管".into()
            }
            ScanRejection::TubeAtOtherTable => {
                "这支试管已在其他采样台开管使用，不能混用；请换一支新试管".into()
            }
            ScanRejection::TubeFull { capacity } => {
                format!("这支试管已满（{capacity}人），已自动封管；请扫描一支新试管")
            }
            ScanRejection::TubeClosed => "这支试管已封管，不能再加人；请扫描一支新试管".into(),
            ScanRejection::TubePurposeMismatch { tube_purpose } => match tube_purpose {
                SamplePurpose::Screen => {
                    "复采必须单人单管：这支试管已用于混采，请换一支新试管做复采".into()
                }
                SamplePurpose::Recheck => {
                    "这支试管是单管复采管，不能再放筛查样本；请换一支新试管".into()
                }
            },
            ScanRejection::NothingToClose => "这支试管还没有绑定任何人，无需封管".into(),
            ScanRejection::AlreadySampled { tube, sampled_at } => format!(
                "此人本轮已于{}采样（试管{tube}），不要重复采样；如需复采，请选择“单管复采”",
                time(*sampled_at)
            ),
            ScanRejection::RecheckPending => {
                "此人有待完成的单管复采任务（混采阳性或无效），请选择“单管复采”并使用新的单管"
                    .into()
            }
            ScanRejection::NoRecheckTask => "此人没有待复采任务；正常筛查请选择“筛查”".into(),
            ScanRejection::NameMissing => {
                "此人不在实有人口登记中，请填写姓名后再绑定（否则结果无法对应到人）".into()
            }
            ScanRejection::NameMismatch { registered } => format!(
                "证件号码登记的姓名是“{registered}”，与本次填写的不一致；请核对证件，防止代扫他人的码"
            ),
        }
    }
}

/// A resident's personal sampling code (个人采样码), shown as a QR code on their own page and scanned
/// at the table instead of the ID card: `FKS1-<resident id>-<tag>`. The tag is the first 10 hex
/// digits of an HMAC-SHA256 the server computes with its own secret over the id, so a code cannot be
/// made up or altered, and it carries no ID number or name (unlike a card, a screenshot of it tells a
/// stranger nothing). The server computes and checks the tag; this type only reads the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplingCode {
    pub resident_id: i64,
    pub tag: String,
}

pub const SAMPLING_CODE_PREFIX: &str = "FKS1-";
pub const SAMPLING_CODE_TAG_LEN: usize = 10;

impl SamplingCode {
    /// True when a scan is a sampling code rather than an ID number.
    pub fn looks_like(raw: &str) -> bool {
        raw.trim()
            .to_ascii_uppercase()
            .starts_with(SAMPLING_CODE_PREFIX)
    }

    pub fn parse(raw: &str) -> Result<SamplingCode, String> {
        let text = raw.trim().to_ascii_uppercase();
        let bad = || {
            "个人采样码无法识别（可能截图不全或被改动），请让居民刷新采样码或改用身份证".to_string()
        };
        let rest = text.strip_prefix(SAMPLING_CODE_PREFIX).ok_or_else(bad)?;
        let (id, tag) = rest.split_once('-').ok_or_else(bad)?;
        let resident_id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        if tag.len() != SAMPLING_CODE_TAG_LEN || !tag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(SamplingCode {
            resident_id,
            tag: tag.to_ascii_lowercase(),
        })
    }

    pub fn format(resident_id: i64, tag: &str) -> String {
        format!(
            "{SAMPLING_CODE_PREFIX}{resident_id}-{}",
            tag.to_ascii_uppercase()
        )
    }
}

#[cfg(test)]
#[path = "binding_tests.rs"]
mod tests;
