//! Checkpoints (卡口) and venue codes (场所码): verify a code or an ID at a checkpoint, decide by the
//! checkpoint type's rule, log the passage durably; venues' QR codes and visits; the itinerary
//! question tracing asks ("who passed checkpoint X / visited venue Y between t1 and t2").

mod check;
mod itinerary;
mod registry;
mod vehicles;
mod venues;

use std::collections::HashMap;
use std::sync::Arc;

use fangkong_domain::checkpoint::{self as cp, CheckpointKind, Decision, DefenceLine, Presented};
use fangkong_domain::health_code::{CodeColour, FactKind};
use fangkong_domain::personal::DocumentNumber;
use fangkong_domain::region::RegionCode;
use fangkong_domain::risk_area::AreaTier;
use fangkong_domain::role::Permission;
use fangkong_store::{
    CheckpointRecord, CodePerson, FactWrite, ItineraryStop, PassageRecord, PassageWrite,
    VenueRecord, VenueVisitRecord,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::health_code::{
    beijing_label, day_start_time, parse_document, parse_venue_code, unix_to_utc, venue_code_text,
};
use crate::jobs::WriterError;
use crate::population::mask_document;
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, Store, audit, audit_record};

pub use registry::CreateCheckpoint;
pub use vehicles::{OnBoardView, VehicleOutcome, VehiclePassageView, VehicleScan};
pub use venues::CreateVenue;

/// The refusal for a well-formed region code the register does not hold.
fn region_unknown(region: &RegionCode) -> AppError {
    AppError::field("区划", format!("编码“{}”不存在", region.as_str()))
}

/// The most people one "who was there" answer lists (a longer window is asked in parts).
const WHO_WAS_AT_LIMIT: i64 = 20_000;

/// Passages per group transaction at most: enough to log thousands of checks a second in a few
/// commits, few enough that one commit holds SQLite's write lock for milliseconds, not seconds,
/// so logins, visits and every other write get their turn between groups.
pub const GROUP_MAX_PASSAGES: usize = 500;

type PassageJob = (PassageWrite, oneshot::Sender<Result<bool, WriterError>>);

/// The passage writer's name in the log and in its errors.
pub(crate) const PASSAGE_WRITER: &str = "passage writer";

/// One writer task per process logs passages: every check waiting when a transaction starts joins
/// it, so thousands of checks a second cost a few disk flushes — and a check is answered only after
/// the commit that holds its passage (an acknowledged passage survives a crash).
#[derive(Clone, Debug)]
pub(crate) struct PassageWriter(mpsc::Sender<PassageJob>);

impl PassageWriter {
    /// Starts the writer under supervision (see [`crate::jobs::start_writer`]).
    pub(crate) fn start(store: &Store, failed: &crate::jobs::WriterFailures) -> PassageWriter {
        let store = store.clone();
        PassageWriter(crate::jobs::start_writer(
            PASSAGE_WRITER,
            16_384,
            failed,
            move |queue| run_passage_writer(store.clone(), queue),
        ))
    }

    pub(crate) fn queue(&self) -> &mpsc::Sender<PassageJob> {
        &self.0
    }
}

/// `first` and whatever else is already waiting, up to [`GROUP_MAX_PASSAGES`]: the next group.
fn next_group<T>(first: T, rx: &mut mpsc::Receiver<T>) -> Vec<T> {
    let mut jobs = vec![first];
    while jobs.len() < GROUP_MAX_PASSAGES {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    jobs
}

async fn run_passage_writer(
    store: Store,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<PassageJob>>>,
) {
    let mut rx = queue.lock().await;
    while let Some(first) = rx.recv().await {
        let jobs = next_group(first, &mut rx);
        let (passages, replies): (Vec<PassageWrite>, Vec<_>) = jobs.into_iter().unzip();
        match store.insert_passages(&passages).await {
            Ok(fresh) => {
                for (reply, new) in replies.into_iter().zip(fresh) {
                    let _ = reply.send(Ok(new));
                }
            }
            Err(error) => {
                let error = WriterError::group_failed(PASSAGE_WRITER, passages.len(), error);
                for reply in replies {
                    let _ = reply.send(Err(error.shared()));
                }
            }
        }
        // Between groups, let the answered checks and other writers run before the next BEGIN.
        tokio::task::yield_now().await;
    }
}

/// A check at a checkpoint as the page or the API sends it. Unchecked text: no `Debug`.
#[derive(Clone, Default, Deserialize)]
pub struct CheckpointScan {
    /// The client's idempotency key: a retry of the same check is answered from the log.
    pub passage_key: String,
    /// What was scanned or typed: a health code QR (FK1:…), an EU DCC (HC1:…), or an ID number.
    pub code: String,
    /// The ID card swiped alongside a QR code (人证核验), optional.
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub temperature: String,
    #[serde(default)]
    pub plate: String,
    /// Where the traveller comes from (a region code), for arrivals at border and station checkpoints.
    #[serde(default)]
    pub from_region: String,
}

/// The answer shown to checkpoint staff.
#[derive(Debug, Clone, Serialize)]
pub struct CheckOutcome {
    pub decision: String,
    pub decision_label: &'static str,
    pub reasons: Vec<String>,
    pub method: String,
    pub colour: Option<String>,
    pub colour_label: &'static str,
    pub popup: bool,
    pub name_masked: String,
    pub id_number_masked: String,
    pub badge_label: &'static str,
    pub assign_code: bool,
    /// True when this was a retry of a check already logged (the stored answer is returned).
    pub repeated: bool,
    pub at: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckpointForm {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub line: String,
    pub region_code: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct VenueForm {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub region_code: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointView {
    pub checkpoint: CheckpointRecord,
    pub kind_label: &'static str,
    pub line_label: &'static str,
    pub rule_words: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassageView {
    pub at: i64,
    pub at_label: String,
    pub method: String,
    pub id_number_masked: String,
    pub colour_label: &'static str,
    pub temperature: Option<f64>,
    pub plate: String,
    pub decision_label: &'static str,
    pub reasons: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VenueView {
    pub venue: VenueRecord,
    pub code_text: String,
}

/// What a resident sees after scanning a venue code: their own colour, big, for the door keeper.
#[derive(Debug, Clone, Serialize)]
pub struct VenueCheckIn {
    pub venue_name: String,
    pub colour: String,
    pub colour_label: &'static str,
    pub popup: bool,
    pub at: i64,
    pub name_masked: String,
    pub repeated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItineraryRow {
    pub at: i64,
    pub at_label: String,
    pub place_kind: String,
    pub place_name: String,
    pub id_number_masked: String,
    pub resident_id: Option<i64>,
}

fn check_words(rule: &cp::CheckpointRule) -> String {
    let mut words = Vec::new();
    if !rule.refuse_colours.is_empty() {
        let colours: Vec<&str> = rule.refuse_colours.iter().map(|c| c.label_zh()).collect();
        words.push(format!("{}劝返", colours.join("、")));
    }
    if rule.refuse_popup {
        words.push("弹窗人员先报备".to_string());
    }
    if let Some(hours) = rule.required_negative_hours {
        words.push(format!("查验{hours}小时核酸阴性证明"));
    }
    if rule.landing_test_for_arrivals {
        words.push("风险地区来人落地检并赋码".to_string());
    }
    words.push(format!("体温≥{:.1}℃送发热门诊", rule.fever_threshold_c));
    words.join("；")
}

fn decision_label(code: &str) -> &'static str {
    Decision::from_code(code)
        .map(|d| d.label_zh())
        .unwrap_or("无法识别（拒绝）")
}

fn passage_outcome(p: &PassageRecord, repeated: bool) -> CheckOutcome {
    let colour = p.colour;
    CheckOutcome {
        decision: p.decision.clone(),
        decision_label: if p.decision == "rejected" {
            "拒绝：码无效"
        } else {
            decision_label(&p.decision)
        },
        reasons: p
            .reasons
            .split('；')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        method: p.method.clone(),
        colour: p.colour.map(|c| c.code().to_string()),
        colour_label: colour.map(|c| c.label_zh()).unwrap_or(""),
        popup: p.popup,
        name_masked: String::new(),
        id_number_masked: if p.id_number.is_empty() {
            String::new()
        } else {
            mask_document(&p.id_type, &p.id_number)
        },
        badge_label: "",
        assign_code: false,
        repeated,
        at: p.at,
    }
}

fn itinerary_row(stop: ItineraryStop) -> ItineraryRow {
    ItineraryRow {
        at_label: beijing_label(stop.at),
        at: stop.at,
        place_kind: stop.place_kind,
        place_name: stop.place_name,
        id_number_masked: mask_document(&stop.id_type, &stop.id_number),
        resident_id: stop.resident_id,
    }
}

fn checkpoint_view(checkpoint: CheckpointRecord) -> CheckpointView {
    CheckpointView {
        kind_label: checkpoint.kind.label_zh(),
        line_label: checkpoint.line.label_zh(),
        rule_words: check_words(cp::rule_for(checkpoint.kind)),
        checkpoint,
    }
}

#[cfg(test)]
mod writer_tests {
    use super::*;

    #[tokio::test]
    async fn a_passage_group_is_bounded_so_the_write_lock_is_held_briefly() {
        let (tx, mut rx) = mpsc::channel(16_384);
        for n in 0..(2 * GROUP_MAX_PASSAGES + 7) {
            tx.send(n).await.unwrap();
        }
        let mut sizes = Vec::new();
        while let Ok(first) = rx.try_recv() {
            sizes.push(next_group(first, &mut rx).len());
        }
        assert_eq!(sizes, [GROUP_MAX_PASSAGES, GROUP_MAX_PASSAGES, 7]);
    }
}
