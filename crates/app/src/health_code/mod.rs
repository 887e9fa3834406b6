//! Health codes (健康码): facts from every module, the colour under the policy in force, the signed
//! QR code, appeals and overrides.
//!
//! A person's code is `domain::health_code::evaluate` over their facts and negative results. Facts
//! arrive from mass testing (person events), from checkpoints (arrivals from risk areas), from a
//! round's 应检未检 list and from authorised people; each write recomputes the people it touches
//! in the same transaction. A policy or risk-area change recomputes everyone with a fact — nobody
//! else can be anything but green, so the cached table holds only people who have had a fact.

mod appeals;
mod codes;
mod facts;
mod policy;
mod recompute;
mod views;

pub use appeals::{DecideAppeal, FileAppeal};
pub use facts::{AddCodeFact, EndCodeFact};
pub use recompute::infection_found;
pub use views::*;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use fangkong_domain::health_code::{
    self as hc, CodeColour, CodeFact, CodePolicy, CodeReason, CodeState, FactKind, TestBadge,
};
use fangkong_domain::ids::{IdDocument, IdType, mask_middle};
use fangkong_domain::leads::RiskCategory;
use fangkong_domain::person_event::{self, CaseEvent, ContactEvent, PushEvent};
use fangkong_domain::role::Permission;
use fangkong_signed_code::{CodeClaims, CodeSigner, TrustList};
use fangkong_store::{
    AppealRecord, CodeChangeRecord, CodePerson, CodeWrite, ColourCount, FactRecord, FactUpdate,
    FactWrite, HealthCodeRecord, PersonEventRecord, SubjectOwner,
};
use hmac::Mac;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::population::mask_document;
use crate::scope::{ensure_within, load_within};
use crate::{Actor, App, AppError, AppResult, audit, china_offset};

/// The preset DEFLATE dictionary of FK1 codes, for the offline page's verifier (web reaches the
/// signing crate only through the app).
pub use fangkong_signed_code::FK1_DICTIONARY;

/// How long a QR code shown by a resident stays valid: long enough to walk to the scanner, short
/// enough that a screenshot passed around is useless by the next checkpoint.
pub const CODE_TOKEN_SECONDS: i64 = 180;

const SIGNING_KEY_SETTING: &str = "health_code_signing_key";
const ISSUER_SETTING: &str = "health_code_issuer";
const POLICY_SETTING: &str = "health_code_policy";
const EVENT_CURSOR_SETTING: &str = "health_code_event_cursor";
const EXTRA_TRUST_SETTING: &str = "health_code_trust_list";
const DSC_SETTING: &str = "dcc_signer_certificates";
const DEFAULT_ISSUER: &str = "CN-13";

/// What the verifier keeps in memory about one person whose code is not plain green.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CodeBrief {
    pub colour: CodeColour,
    pub popup: bool,
    pub summary: String,
    /// Until when the brief is right without recomputing (turns green, or a test may change it).
    pub stale_at: Option<i64>,
}

/// Stored codes by person once loaded; codes written while the first load reads wait in `pending`
/// so the load cannot hide them. `watermark` is the newest `computed_at` seen.
#[derive(Default)]
pub(crate) struct Briefs {
    map: Option<HashMap<CodePerson, CodeBrief>>,
    pending: Vec<HealthCodeRecord>,
    watermark: i64,
}

/// The signing key, the trust lists and the in-memory tables the checkpoint verifier reads.
#[derive(Clone, Default)]
pub(crate) struct CodeRuntime {
    keys: Arc<OnceCell<Arc<CodeKeys>>>,
    /// The verifier's memory of every stored code, loaded once (one loader at a time) and kept
    /// current by every write in this process and by `refresh_briefs` for other processes.
    briefs: Arc<RwLock<Briefs>>,
    brief_loader: Arc<tokio::sync::Mutex<()>>,
    /// One pass over person events at a time (an upload and the background pass may both call).
    event_sync: Arc<tokio::sync::Mutex<()>>,
    subjects: Arc<RwLock<HashMap<String, SubjectOwner>>>,
    pub(crate) checkpoints: Arc<RwLock<HashMap<i64, fangkong_store::CheckpointRecord>>>,
}

impl std::fmt::Debug for CodeRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRuntime").finish_non_exhaustive()
    }
}

pub(crate) struct CodeKeys {
    pub signer: CodeSigner,
    pub trust: TrustList,
    pub dsc: fangkong_signed_code::DscTrustList,
    /// HMAC key for pseudonymous subjects and venue-code tags (derived from the signing key).
    pub subject_key: [u8; 32],
}

#[derive(Debug, Clone, Serialize)]
pub struct AppealView {
    pub appeal: AppealRecord,
    pub id_number_masked: String,
    pub colour_label: &'static str,
}

/// Appeals with the ID number masked (views carry no full numbers).
fn masked_appeals(mut appeals: Vec<AppealRecord>) -> Vec<AppealRecord> {
    for appeal in &mut appeals {
        appeal.id_number = mask_document(&appeal.id_type, &appeal.id_number).into();
    }
    appeals
}

pub(crate) fn signed_colour(colour: CodeColour) -> fangkong_signed_code::CodeColour {
    match colour {
        CodeColour::Green => fangkong_signed_code::CodeColour::Green,
        CodeColour::Yellow => fangkong_signed_code::CodeColour::Yellow,
        CodeColour::Red => fangkong_signed_code::CodeColour::Red,
    }
}

pub fn domain_colour(colour: fangkong_signed_code::CodeColour) -> CodeColour {
    match colour {
        fangkong_signed_code::CodeColour::Green => CodeColour::Green,
        fangkong_signed_code::CodeColour::Yellow => CodeColour::Yellow,
        fangkong_signed_code::CodeColour::Red => CodeColour::Red,
    }
}

pub(crate) fn parse_document(id_type: &str, id_number: &str) -> AppResult<IdDocument> {
    let id_type = IdType::parse(id_type).map_err(AppError::Invalid)?;
    IdDocument::parse(id_type, id_number).map_err(AppError::Invalid)
}

impl CodeRuntime {
    fn reset_keys(&self) {
        // OnceCell cannot be emptied through an Arc; the next App built reloads. Callers that add
        // signer certificates at run time see them after a restart, which the page says.
    }

    /// Updates the verifier's memory with freshly computed codes.
    pub(crate) fn remember(&self, codes: &[HealthCodeRecord]) {
        let mut guard = self.briefs.write().expect("code brief lock");
        let briefs = &mut *guard;
        match briefs.map.as_mut() {
            Some(map) => {
                for code in codes {
                    briefs.watermark = briefs.watermark.max(code.computed_at);
                    map.insert(person_of(code), brief_of(code));
                }
            }
            // A load is reading (or nothing has asked yet): keep them for the load to apply.
            None => briefs.pending.extend(codes.iter().cloned()),
        }
    }

    /// The brief of a person, or None when they have no stored code (plain green). The first call
    /// loads every stored code; concurrent callers wait for that one load.
    pub(crate) async fn brief(
        &self,
        store: &fangkong_store::Store,
        person: &CodePerson,
    ) -> AppResult<Option<CodeBrief>> {
        if let Some(map) = self.briefs.read().expect("code brief lock").map.as_ref() {
            return Ok(map.get(person).cloned());
        }
        let _loading = self.brief_loader.lock().await;
        if let Some(map) = self.briefs.read().expect("code brief lock").map.as_ref() {
            return Ok(map.get(person).cloned());
        }
        let loaded = store.coloured_codes().await?;
        let mut guard = self.briefs.write().expect("code brief lock");
        let briefs = &mut *guard;
        let mut map: HashMap<CodePerson, CodeBrief> = HashMap::with_capacity(loaded.len());
        for code in loaded.iter().chain(briefs.pending.iter()) {
            briefs.watermark = briefs.watermark.max(code.computed_at);
            map.insert(person_of(code), brief_of(code));
        }
        briefs.pending.clear();
        let answer = map.get(person).cloned();
        briefs.map = Some(map);
        Ok(answer)
    }

    /// Catches up with codes other server processes wrote (every few seconds from the maintenance
    /// loop). Re-reads a minute behind the watermark: a transaction computed before it may commit after.
    pub(crate) async fn refresh_briefs(&self, store: &fangkong_store::Store) -> AppResult<usize> {
        let watermark = {
            let guard = self.briefs.read().expect("code brief lock");
            if guard.map.is_none() {
                return Ok(0);
            }
            guard.watermark
        };
        let codes = store.codes_computed_since(watermark - 60).await?;
        self.remember(&codes);
        Ok(codes.len())
    }

    pub(crate) async fn person_of_subject(
        &self,
        store: &fangkong_store::Store,
        subject: &str,
    ) -> AppResult<Option<SubjectOwner>> {
        if let Some(found) = self.subjects.read().expect("subject lock").get(subject) {
            return Ok(Some(found.clone()));
        }
        let found = store.person_of_subject(subject).await?;
        if let Some(found) = &found {
            let mut guard = self.subjects.write().expect("subject lock");
            // A bounded memory: a city's worth of subjects fits, a flood of forgeries cannot grow it
            // (only subjects that exist are remembered).
            if guard.len() > 12_000_000 {
                guard.clear();
            }
            guard.insert(subject.to_string(), found.clone());
        }
        Ok(found)
    }
}

fn person_of(code: &HealthCodeRecord) -> CodePerson {
    CodePerson {
        id_type: code.id_type.clone(),
        id_number: code.id_number.clone(),
    }
}

fn brief_of(code: &HealthCodeRecord) -> CodeBrief {
    CodeBrief {
        colour: code.colour,
        popup: code.popup.is_some(),
        summary: code.summary.clone(),
        stale_at: if code.waits_for_test {
            Some(code.computed_at)
        } else {
            code.turns_green_at
        },
    }
}
