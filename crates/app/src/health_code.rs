//! Health codes (健康码): facts from every module, the colour under the policy in force, the signed
//! QR code, appeals and overrides.
//!
//! A person's code is `domain::health_code::evaluate` over their facts and negative results. Facts
//! arrive from mass testing (person events), from checkpoints (arrivals from risk areas), from a
//! round's 应检未检 list and from authorised people; each write recomputes the people it touches
//! in the same transaction. A policy or risk-area change recomputes everyone with a fact — nobody
//! else can be anything but green, so the cached table holds only people who have had a fact.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use fangkong_domain::health_code::{
    self as hc, CodeColour, CodeFact, CodePolicy, CodeReason, CodeState, FactKind, TestBadge,
};
use fangkong_domain::ids::{IdDocument, IdType, mask_middle};
use fangkong_domain::person_event::{self, CaseEvent, ContactEvent};
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

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

/// A person's code as a page or the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CodeView {
    pub colour: String,
    pub colour_label: &'static str,
    pub popup: Option<String>,
    pub reasons: Vec<CodeReason>,
    pub summary: String,
    pub turns_green_at: Option<i64>,
    pub turns_green_label: String,
    pub waits_for_test: bool,
    pub badge: String,
    pub badge_label: &'static str,
    pub last_negative_sampled_at: Option<i64>,
    pub policy_name: String,
}

/// What a resident sees on their own code page.
#[derive(Debug, Clone, Serialize)]
pub struct MyCode {
    pub name: String,
    pub id_number_masked: String,
    pub code: CodeView,
    /// The signed QR text (FK1:…), valid for [`CODE_TOKEN_SECONDS`].
    pub token: String,
    pub token_expires_at: i64,
    pub changes: Vec<CodeChangeRecord>,
    pub appeals: Vec<AppealRecord>,
}

/// A person's code as staff see it (facts and history; the ID number masked).
#[derive(Debug, Clone, Serialize)]
pub struct PersonCode {
    pub name: String,
    pub id_type: String,
    pub id_number_masked: String,
    pub grid_code: String,
    pub resident_id: Option<i64>,
    pub code: CodeView,
    pub facts: Vec<FactView>,
    pub changes: Vec<CodeChangeRecord>,
    pub appeals: Vec<AppealRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactView {
    pub id: i64,
    pub withdrawn_at: Option<i64>,
    pub kind: String,
    pub kind_label: &'static str,
    pub anchor: i64,
    pub ended_at: Option<i64>,
    pub colour: Option<String>,
    pub checked_at: Option<i64>,
    pub note: String,
    pub source: String,
    pub created_by: String,
}

/// The form to add a fact by hand (an epidemiologist naming a close contact, a commander mirroring
/// another province's colour, an override).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FactForm {
    #[serde(default)]
    pub id_type: String,
    pub id_number: String,
    pub kind: String,
    /// Beijing time "YYYY-MM-DD HH:MM" or "YYYY-MM-DD"; empty = now.
    #[serde(default)]
    pub anchor: String,
    #[serde(default)]
    pub colour: String,
    #[serde(default)]
    pub note: String,
}

/// Overview of codes in a jurisdiction.
#[derive(Debug, Clone, Serialize)]
pub struct CodeOverview {
    pub policy_id: String,
    pub policy_name: String,
    pub policies: Vec<(String, String)>,
    pub counts: Vec<ColourCount>,
    pub red: i64,
    pub yellow: i64,
    pub popups: i64,
    pub people: Vec<CodeListRow>,
    pub open_appeals: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CodeListRow {
    pub id_type: String,
    pub id_number_masked: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub colour: String,
    pub colour_label: &'static str,
    pub popup: bool,
    pub summary: String,
    pub turns_green_at: Option<i64>,
}

/// What a recompute of everyone did.
#[derive(Debug, Clone, Serialize)]
pub struct RecomputeReport {
    pub people: usize,
    pub changed: usize,
    pub millis: u128,
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn unix_to_utc(unix: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix, 0).single().unwrap_or_default()
}

/// "11月20日 14:30" in Beijing time.
pub(crate) fn beijing_label(unix: i64) -> String {
    unix_to_utc(unix)
        .with_timezone(&china_offset())
        .format("%m月%d日 %H:%M")
        .to_string()
}

/// Parses a Beijing time typed by a user: "YYYY-MM-DD HH:MM", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DD".
pub(crate) fn parse_beijing_time(text: &str, what: &str) -> AppResult<i64> {
    let text = text.trim();
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists"))
        })
        .map_err(|_| {
            AppError::Invalid(format!(
                "{what}“{text}”看不懂：请写成 2022-11-20 14:30 或 2022-11-20"
            ))
        })?;
    naive
        .and_local_timezone(china_offset())
        .single()
        .map(|t| t.timestamp())
        .ok_or_else(|| AppError::Invalid(format!("{what}“{text}”不是有效时间")))
}

/// A stored fact as the domain's input.
pub(crate) fn domain_fact(record: &FactRecord) -> Option<CodeFact> {
    // A withdrawn fact was found wrong: it does not count at all.
    if record.withdrawn_at.is_some() {
        return None;
    }
    Some(CodeFact {
        kind: FactKind::from_code(&record.kind)?,
        anchor: unix_to_utc(record.anchor),
        ended_at: record.ended_at.map(unix_to_utc),
        colour: record.colour.as_deref().and_then(CodeColour::from_code),
        checked_at: record.checked_at.map(unix_to_utc),
        note: record.note.clone(),
    })
}

/// Evaluates a person's code under `policy` and shapes it for storage.
pub(crate) fn compute_code(
    policy: &CodePolicy,
    person: &CodePerson,
    facts: &[FactRecord],
    negatives: &[i64],
    now: i64,
) -> (CodeState, CodeWrite) {
    let domain_facts: Vec<CodeFact> = facts.iter().filter_map(domain_fact).collect();
    let negative_times: Vec<DateTime<Utc>> = negatives.iter().map(|&t| unix_to_utc(t)).collect();
    let state = hc::evaluate(policy, &domain_facts, &negative_times, unix_to_utc(now));
    let anchor_fact = facts
        .iter()
        .rev()
        .find(|f| f.resident_id.is_some())
        .or(facts.last());
    let write = CodeWrite {
        id_type: person.id_type.clone(),
        id_number: person.id_number.clone(),
        resident_id: anchor_fact.and_then(|f| f.resident_id),
        grid_code: anchor_fact.map(|f| f.grid_code.clone()).unwrap_or_default(),
        colour: state.colour.code().to_string(),
        popup: state.popup.as_ref().map(|p| p.kind.code().to_string()),
        summary: state.summary_zh(),
        reasons: serde_json::to_string(&state.reasons).unwrap_or_else(|_| "[]".into()),
        turns_green_at: state.turns_green_at.map(|t| t.timestamp()),
        waits_for_test: state.waits_for_test,
        policy_id: policy.id.clone(),
        computed_at: now,
    };
    (state, write)
}

fn code_view(policy: &CodePolicy, state: &CodeState, negatives: &[i64], now: i64) -> CodeView {
    let last_negative = negatives.iter().copied().max();
    let badge = hc::test_badge(last_negative.map(unix_to_utc), unix_to_utc(now));
    CodeView {
        colour: state.colour.code().to_string(),
        colour_label: state.colour.label_zh(),
        popup: state.popup.as_ref().map(|p| p.words.clone()),
        reasons: state.reasons.clone(),
        summary: state.summary_zh(),
        turns_green_at: state.turns_green_at.map(|t| t.timestamp()),
        turns_green_label: match (state.colour, state.turns_green_at) {
            (CodeColour::Green, None) if state.popup.is_none() => String::new(),
            (_, Some(at)) => format!("预计 {} 转绿", beijing_label(at.timestamp())),
            (_, None) if state.waits_for_test => "需一次阴性核酸结果后转绿".to_string(),
            (_, None) => "需解除相应管控后转绿".to_string(),
        },
        waits_for_test: state.waits_for_test,
        badge: badge_code(badge).to_string(),
        badge_label: badge.label_zh(),
        last_negative_sampled_at: last_negative,
        policy_name: policy.name_zh.clone(),
    }
}

fn badge_code(badge: TestBadge) -> &'static str {
    match badge {
        TestBadge::H24 => "24h",
        TestBadge::H48 => "48h",
        TestBadge::H72 => "72h",
        TestBadge::D7 => "7d",
        TestBadge::None => "none",
    }
}

fn fact_view(record: &FactRecord) -> FactView {
    let kind = FactKind::from_code(&record.kind);
    FactView {
        id: record.id,
        withdrawn_at: record.withdrawn_at,
        kind: record.kind.clone(),
        kind_label: kind.map(|k| k.label_zh()).unwrap_or("未知"),
        anchor: record.anchor,
        ended_at: record.ended_at,
        colour: record.colour.clone(),
        checked_at: record.checked_at,
        note: record.note.clone().unwrap_or_default(),
        source: record.source.clone(),
        created_by: record.created_by.clone(),
    }
}

fn code_list_row(record: HealthCodeRecord) -> CodeListRow {
    let colour = CodeColour::from_code(&record.colour).unwrap_or(CodeColour::Green);
    CodeListRow {
        id_number_masked: mask_document(&record.id_type, &record.id_number),
        id_type: record.id_type,
        resident_id: record.resident_id,
        grid_code: record.grid_code,
        colour: record.colour,
        colour_label: colour.label_zh(),
        popup: record.popup.is_some(),
        summary: record.summary,
        turns_green_at: record.turns_green_at,
    }
}

/// The facts a person event (mass testing, investigation) brings, and the facts it ends.
fn facts_of_event(event: &PersonEventRecord) -> (Option<FactWrite>, Option<FactUpdate>) {
    let person = CodePerson {
        id_type: event.id_type.clone(),
        id_number: event.id_number.clone(),
    };
    let fact = |kind: FactKind, note: &str| FactWrite {
        fact_key: format!("event:{}", event.id),
        person: person.clone(),
        resident_id: event.resident_id,
        grid_code: event.grid_code.clone(),
        kind: kind.code().to_string(),
        anchor: event.at,
        ended_at: None,
        colour: None,
        note: Some(note.to_string()),
        source: format!("核酸检测：{}", event.source),
        created_by: "system".to_string(),
    };
    match event.kind.as_str() {
        "pool_positive" => (
            Some(fact(FactKind::PoolPositivePending, "混管阳性，待单管复核")),
            None,
        ),
        "single_positive" => (
            Some(fact(FactKind::InitialScreenPositive, "单管初筛阳性")),
            None,
        ),
        "antigen_positive" => (
            Some(fact(
                FactKind::InitialScreenPositive,
                "抗原自测阳性，待核酸复核",
            )),
            None,
        ),
        "recheck_negative" => (
            None,
            Some(FactUpdate::End {
                person,
                kinds: vec![
                    FactKind::PoolPositivePending.code().to_string(),
                    FactKind::InitialScreenPositive.code().to_string(),
                ],
                at: event.at,
            }),
        ),
        // Investigation (流调): contacts are coded from their last exposure, cases from when found.
        person_event::CLOSE_CONTACT | person_event::SECONDARY_CONTACT => {
            let detail: Option<ContactEvent> = serde_json::from_str(&event.detail).ok();
            let (kind, words) = if event.kind == person_event::CLOSE_CONTACT {
                (FactKind::CloseContact, "流调判定为密切接触者")
            } else {
                (FactKind::SecondaryContact, "流调判定为密接的密接")
            };
            let mut write = fact(kind, words);
            write.source = format!("流调：{}", event.source);
            if let Some(detail) = detail {
                write.anchor = detail.last_exposure;
            }
            (Some(write), None)
        }
        person_event::CASE_REPORTED => {
            let detail: Option<CaseEvent> = serde_json::from_str(&event.detail).ok();
            let kind = match detail.as_ref().map(|d| d.case_kind.as_str()) {
                Some("confirmed") => FactKind::Confirmed,
                Some("asymptomatic") => FactKind::Asymptomatic,
                Some("suspected") => FactKind::Suspected,
                _ => FactKind::InitialScreenPositive,
            };
            let mut write = fact(kind, "流调登记病例");
            write.source = format!("流调：{}", event.source);
            (Some(write), None)
        }
        // Discharge starts the Hebei table's clock for a case (the code stays until it has run).
        person_event::CASE_DISCHARGED => (
            None,
            Some(FactUpdate::Discharged {
                person,
                at: event.at,
            }),
        ),
        _ => (None, None),
    }
}

fn hmac_hex(key: &[u8], message: &str, hex_len: usize) -> String {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message.as_bytes());
    let mut tag = hex::encode(mac.finalize().into_bytes());
    tag.truncate(hex_len);
    tag
}

/// The venue code a venue prints: `FKV1:<id>:<tag>` — the tag stops someone inventing venue ids.
pub(crate) fn venue_code_text(key: &[u8], venue_id: i64) -> String {
    format!(
        "FKV1:{venue_id}:{}",
        hmac_hex(key, &format!("venue:{venue_id}"), 12)
    )
}

/// The venue id of a scanned venue code, or why it is refused.
pub(crate) fn parse_venue_code(key: &[u8], text: &str) -> AppResult<i64> {
    let refused = || AppError::Invalid("这不是本系统的场所码，请扫描场所张贴的场所码".into());
    let rest = text.trim().strip_prefix("FKV1:").ok_or_else(refused)?;
    let (id, tag) = rest.split_once(':').ok_or_else(refused)?;
    let id: i64 = id.parse().map_err(|_| refused())?;
    if hmac_hex(key, &format!("venue:{id}"), 12) != tag {
        return Err(AppError::Invalid(
            "场所码校验失败：二维码被改动或伪造，请扫描场所张贴的原码".into(),
        ));
    }
    Ok(id)
}

impl App {
    // -- keys and policy -------------------------------------------------------------------------

    /// The installation's signing key and trust lists, made on first use and kept in the database.
    pub(crate) async fn code_keys(&self) -> AppResult<Arc<CodeKeys>> {
        self.codes
            .keys
            .get_or_try_init(|| async {
                let secret_hex = match self.store.setting(SIGNING_KEY_SETTING).await? {
                    Some(value) => value,
                    None => {
                        use rand::RngCore;
                        let mut fresh = [0u8; 32];
                        rand::thread_rng().fill_bytes(&mut fresh);
                        self.store
                            .setting_or_insert(SIGNING_KEY_SETTING, &hex::encode(fresh))
                            .await?
                    }
                };
                let secret: [u8; 32] = hex::decode(&secret_hex)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| AppError::Internal("health code signing key is not 32 bytes".into()))?;
                let issuer = self
                    .store
                    .setting(ISSUER_SETTING)
                    .await?
                    .unwrap_or_else(|| DEFAULT_ISSUER.to_string());
                let signer = CodeSigner::from_secret(&issuer, &secret);
                // Other authorities' keys (mutual recognition) come from a setting; our own is always in.
                let mut keys = match self.store.setting(EXTRA_TRUST_SETTING).await? {
                    Some(json) => TrustList::from_json(&json)
                        .map_err(|e| AppError::Internal(format!("trust list setting: {e}")))?
                        .keys()
                        .to_vec(),
                    None => Vec::new(),
                };
                let own = signer.trusted_key();
                if !keys.iter().any(|k| k.kid == own.kid) {
                    keys.push(own);
                }
                let trust = TrustList::new(keys)
                    .map_err(|e| AppError::Internal(format!("trust list: {e}")))?;
                let mut dsc = fangkong_signed_code::DscTrustList::new();
                if let Some(json) = self.store.setting(DSC_SETTING).await? {
                    let certs: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
                    for cert in certs {
                        if let Err(error) = dsc.add_certificate_base64(&cert) {
                            tracing::warn!(%error, "a configured DCC signer certificate was not loaded");
                        }
                    }
                }
                let subject_key: [u8; 32] = sha2::Digest::finalize(
                    <sha2::Sha256 as sha2::Digest>::new_with_prefix([b"subject:".as_slice(), &secret].concat()),
                )
                .into();
                Ok::<_, AppError>(Arc::new(CodeKeys {
                    signer,
                    trust,
                    dsc,
                    subject_key,
                }))
            })
            .await
            .cloned()
    }

    /// The public trust list (`fangkong verify` and offline checkpoint devices load it).
    pub async fn trust_list_json(&self) -> AppResult<String> {
        Ok(self.code_keys().await?.trust.to_json())
    }

    /// Adds EU DCC signer certificates (base64 DER) to the port verifier's trust list.
    pub async fn add_dcc_signers(
        &self,
        actor: &Actor,
        certificates: &[String],
    ) -> AppResult<usize> {
        // The trust list is the installation's: a province-level administrator keeps it.
        actor.require(Permission::ManageUsers)?;
        if actor.jurisdiction.level() != fangkong_domain::region::RegionLevel::Province {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let mut probe = fangkong_signed_code::DscTrustList::new();
        for (i, cert) in certificates.iter().enumerate() {
            probe.add_certificate_base64(cert).map_err(|e| {
                AppError::Invalid(format!("第{}个证书无法读取：{}", i + 1, e.words_zh()))
            })?;
        }
        let mut stored: Vec<String> = match self.store.setting(DSC_SETTING).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Vec::new(),
        };
        for cert in certificates {
            if !stored.contains(cert) {
                stored.push(cert.clone());
            }
        }
        self.store
            .put_setting(
                DSC_SETTING,
                &serde_json::to_string(&stored).unwrap_or_default(),
            )
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "add_dcc_signers",
            "dcc",
            &format!("{} certificates", certificates.len()),
        )
        .await?;
        // Reload on next use.
        self.codes.reset_keys();
        Ok(stored.len())
    }

    /// The policy table in force: the one an administrator chose, else the one for the
    /// installation's province on today's date.
    pub async fn code_policy(&self) -> AppResult<&'static CodePolicy> {
        if let Some(id) = self.store.setting(POLICY_SETTING).await?
            && let Some(policy) = hc::policy_by_id(&id)
        {
            return Ok(policy);
        }
        let issuer = self
            .store
            .setting(ISSUER_SETTING)
            .await?
            .unwrap_or_else(|| DEFAULT_ISSUER.to_string());
        let province = issuer.trim_start_matches("CN-");
        Ok(hc::policy_for(province, self.today()))
    }

    /// Switches the policy table and recomputes everyone's code.
    pub async fn set_code_policy(
        &self,
        actor: &Actor,
        policy_id: &str,
    ) -> AppResult<RecomputeReport> {
        actor.require(Permission::DecideHealthCodes)?;
        // One table for the whole province: only a province-level account switches it.
        if actor.jurisdiction.level() != fangkong_domain::region::RegionLevel::Province {
            return Err(AppError::Invalid(
                "赋码规则由省级指挥部统一切换，市、县区及以下账号不能切换".into(),
            ));
        }
        let policy = hc::policy_by_id(policy_id)
            .ok_or_else(|| AppError::Invalid(format!("没有编号为“{policy_id}”的赋码规则")))?;
        self.store.put_setting(POLICY_SETTING, &policy.id).await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "set_code_policy",
            &policy.id,
            &policy.name_zh,
        )
        .await?;
        self.recompute_all_codes(&format!("赋码规则切换为{}", policy.name_zh))
            .await
    }

    // -- recomputing -----------------------------------------------------------------------------

    /// Applies fact writes and updates, recomputing the people they touch in the same transaction,
    /// and refreshes the verifier's memory for them.
    pub(crate) async fn change_code_facts(
        &self,
        writes: &[FactWrite],
        updates: &[FactUpdate],
        cause: &str,
    ) -> AppResult<Vec<HealthCodeRecord>> {
        if writes.is_empty() && updates.is_empty() {
            return Ok(Vec::new());
        }
        let policy = self.code_policy().await?;
        let now = self.now_unix();
        let codes = self
            .store
            .change_facts(writes, updates, cause, now, |person, facts, negatives| {
                compute_code(policy, person, facts, negatives, now).1
            })
            .await?;
        self.codes.remember(&codes);
        Ok(codes)
    }

    /// Adds facts without an actor (seeding, the demo and benchmarks), recomputing the people touched.
    pub async fn add_code_facts_unchecked(
        &self,
        writes: &[FactWrite],
        cause: &str,
    ) -> AppResult<usize> {
        Ok(self.change_code_facts(writes, &[], cause).await?.len())
    }

    /// Recomputes everyone who has ever had a fact (a policy change, a risk-area change, the
    /// passing of time). Writes only the codes that changed.
    pub async fn recompute_all_codes(&self, cause: &str) -> AppResult<RecomputeReport> {
        let started = Instant::now();
        let policy = self.code_policy().await?;
        let now = self.now_unix();
        let stored = self.store.stored_code_brief().await?;
        let mut changed: Vec<CodeWrite> = Vec::new();
        let people = self
            .store
            .for_each_fact_person(|person, facts, negatives| {
                let (_, write) = compute_code(policy, person, facts, negatives, now);
                let same = stored.get(person).is_some_and(|(colour, popup, summary)| {
                    *colour == write.colour && *popup == write.popup && *summary == write.summary
                });
                if !same {
                    changed.push(write);
                }
            })
            .await?;
        // The changed people are written through the fact writer: it re-reads their facts under the
        // writer lock, so a fact that arrived while this pass was computing is never overwritten
        // with an older answer.
        for chunk in changed.chunks(5_000) {
            let updates: Vec<FactUpdate> = chunk
                .iter()
                .map(|code| FactUpdate::Recompute {
                    person: CodePerson {
                        id_type: code.id_type.clone(),
                        id_number: code.id_number.clone(),
                    },
                })
                .collect();
            self.change_code_facts(&[], &updates, cause).await?;
        }
        Ok(RecomputeReport {
            people,
            changed: changed.len(),
            millis: started.elapsed().as_millis(),
        })
    }

    /// Turns person events from mass testing into facts (pool positive → red until the recheck;
    /// recheck negative → ended). Remembers how far it read, so each event is taken once; the
    /// fact keys make a repeat harmless anyway. Returns the number of events read.
    pub async fn sync_code_events(&self) -> AppResult<usize> {
        let _one_at_a_time = self.codes.event_sync.lock().await;
        let mut total = 0;
        loop {
            let events = self
                .unread_person_events(EVENT_CURSOR_SETTING, 5_000)
                .await?;
            let Some(last) = events.last().map(|e| e.id) else {
                return Ok(total);
            };
            let mut writes = Vec::new();
            let mut updates = Vec::new();
            for event in &events {
                // A contact withdrawn, or a suspected case excluded, was wrong: its facts stop
                // counting (withdrawn, as an accepted appeal does), not just end.
                if event.kind == person_event::CONTACT_CLEARED
                    || event.kind == person_event::CASE_EXCLUDED
                {
                    let person = CodePerson {
                        id_type: event.id_type.clone(),
                        id_number: event.id_number.clone(),
                    };
                    let source = format!("流调：{}", event.source);
                    for fact in self.store.facts_of(&person).await? {
                        if fact.source == source && fact.withdrawn_at.is_none() {
                            updates.push(FactUpdate::Withdraw {
                                fact_id: fact.id,
                                at: event.at,
                            });
                        }
                    }
                    continue;
                }
                let (write, update) = facts_of_event(event);
                writes.extend(write);
                updates.extend(update);
                if event.kind == "single_positive" || event.kind == "antigen_positive" {
                    self.store
                        .record_area_infection(
                            &event.grid_code,
                            event.at,
                            &format!(
                                "区域内发现{}",
                                if event.kind == "single_positive" {
                                    "核酸阳性"
                                } else {
                                    "抗原阳性"
                                }
                            ),
                        )
                        .await?;
                }
            }
            self.change_code_facts(&writes, &updates, "核酸检测结果")
                .await?;
            self.mark_person_events_read(EVENT_CURSOR_SETTING, last)
                .await?;
            total += events.len();
        }
    }

    /// Brings new person events into codes; a failure is logged, not returned: the events are
    /// committed and the background pass takes them again.
    pub(crate) async fn feed_health_codes(&self) {
        if let Err(error) = self.sync_code_events().await {
            tracing::warn!(%error, "feeding health codes from person events failed; will retry");
        }
    }

    /// Refreshes the verifier's cached codes (the checkpoint check reads them without a query).
    pub(crate) async fn refresh_verifier_codes(&self) -> AppResult<()> {
        self.codes.refresh_briefs(&self.store).await?;
        Ok(())
    }

    /// Recomputes the codes whose answer may have changed with time alone: a turn-green date passed,
    /// or a negative result a code waits for may have arrived. Run every minute by the server.
    pub async fn refresh_due_codes(&self) -> AppResult<usize> {
        let now = self.now_unix();
        let due = self.store.codes_due(now, 20_000).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let updates: Vec<FactUpdate> = due
            .into_iter()
            .map(|person| FactUpdate::Recompute { person })
            .collect();
        let codes = self.change_code_facts(&[], &updates, "到期重算").await?;
        Ok(codes.len())
    }

    // -- reading codes ---------------------------------------------------------------------------

    /// A person's code now, computed fresh from their facts and results.
    pub(crate) async fn current_code(
        &self,
        person: &CodePerson,
    ) -> AppResult<(CodeState, CodeView, Vec<FactRecord>)> {
        let policy = self.code_policy().await?;
        let facts = self.store.facts_of(person).await?;
        let negatives = self.store.negatives_of(person).await?;
        let now = self.now_unix();
        let (state, _) = compute_code(policy, person, &facts, &negatives, now);
        let view = code_view(policy, &state, &negatives, now);
        Ok((state, view, facts))
    }

    /// A resident's own code page: colour, reasons, the date it turns back, test badge, and a
    /// freshly signed QR text.
    pub async fn my_code(&self, actor: &Actor) -> AppResult<MyCode> {
        actor.require(Permission::ShowOwnCode)?;
        let resident = self.own_resident(actor).await?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        let (state, view, _) = self.current_code(&person).await?;
        let (token, expires_at) = self
            .sign_code_token(
                &person,
                Some(resident.id),
                &state,
                view.last_negative_sampled_at,
            )
            .await?;
        Ok(MyCode {
            name: mask_middle(&resident.name, 1, 0),
            id_number_masked: mask_document(&resident.id_type, &resident.id_number),
            code: view,
            token,
            token_expires_at: expires_at,
            changes: self.store.code_changes_of(&person).await?,
            appeals: masked_appeals(self.store.appeals_of(&person).await?),
        })
    }

    pub(crate) async fn own_resident(
        &self,
        actor: &Actor,
    ) -> AppResult<fangkong_store::ResidentRecord> {
        let resident_id = self
            .store
            .user_resident_id(actor.user_id)
            .await?
            .ok_or_else(|| {
                AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
            })?;
        self.store
            .resident(resident_id)
            .await?
            .ok_or(AppError::NotFound("您的登记信息"))
    }

    /// The pseudonymous subject of a person's QR code (issued on first use; never the ID number).
    pub(crate) async fn code_subject(
        &self,
        person: &CodePerson,
        resident_id: Option<i64>,
    ) -> AppResult<String> {
        let keys = self.code_keys().await?;
        let candidate = hmac_hex(
            &keys.subject_key,
            &format!("{}:{}", person.id_type, person.id_number),
            // 64 bits: no collision to expect among a city's people, and the token stays short.
            16,
        );
        let subject = self
            .store
            .code_subject(person, resident_id, &candidate, self.now_unix())
            .await?;
        Ok(subject)
    }

    /// Signs a short-lived QR text for a person's current code.
    pub(crate) async fn sign_code_token(
        &self,
        person: &CodePerson,
        resident_id: Option<i64>,
        state: &CodeState,
        last_negative: Option<i64>,
    ) -> AppResult<(String, i64)> {
        let keys = self.code_keys().await?;
        let subject = self.code_subject(person, resident_id).await?;
        let now = self.now_unix();
        let claims = CodeClaims {
            issuer: keys.signer.issuer().to_string(),
            issued_at: now,
            expires_at: now + CODE_TOKEN_SECONDS,
            subject,
            colour: signed_colour(state.colour),
            popup: state.popup.is_some(),
            last_negative_sampled_at: last_negative,
        };
        Ok((keys.signer.sign(&claims), claims.expires_at))
    }

    /// Signs a QR text for a registered resident without a login (seeding, the demo and
    /// benchmarks build the codes residents would show; never reachable from a page).
    pub async fn issue_code_token_unchecked(&self, resident_id: i64) -> AppResult<String> {
        let resident = self
            .store
            .resident(resident_id)
            .await?
            .ok_or(AppError::NotFound("该居民"))?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        let (state, view, _) = self.current_code(&person).await?;
        Ok(self
            .sign_code_token(
                &person,
                Some(resident.id),
                &state,
                view.last_negative_sampled_at,
            )
            .await?
            .0)
    }

    /// Issues pseudonymous subjects for many residents at once and signs a green QR text for each
    /// (benchmarks: a city's codes without a round trip per person).
    pub async fn issue_code_tokens_unchecked(
        &self,
        residents: &[(i64, String, String)],
        last_negative: Option<i64>,
    ) -> AppResult<Vec<String>> {
        let keys = self.code_keys().await?;
        let now = self.now_unix();
        let mut rows = Vec::with_capacity(residents.len());
        let mut tokens = Vec::with_capacity(residents.len());
        for (id, id_type, id_number) in residents {
            let subject = hmac_hex(&keys.subject_key, &format!("{id_type}:{id_number}"), 16);
            tokens.push(keys.signer.sign(&CodeClaims {
                issuer: keys.signer.issuer().to_string(),
                issued_at: now,
                expires_at: now + 3600,
                subject: subject.clone(),
                colour: fangkong_signed_code::CodeColour::Green,
                popup: false,
                last_negative_sampled_at: last_negative,
            }));
            rows.push((
                subject,
                CodePerson {
                    id_type: id_type.clone(),
                    id_number: id_number.clone(),
                },
                Some(*id),
            ));
        }
        for chunk in rows.chunks(5_000) {
            self.store.issue_code_subjects(chunk, now).await?;
        }
        Ok(tokens)
    }

    /// Staff look up one person's code, facts and history (audited: it reveals health status).
    pub async fn person_code(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
    ) -> AppResult<PersonCode> {
        actor.require(Permission::ViewHealthCodes)?;
        let document = parse_document(id_type, id_number)?;
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().to_string(),
        };
        let resident = self
            .resident_by_document(&person.id_type, &person.id_number)
            .await?;
        let (_, view, facts) = self.current_code(&person).await?;
        let grid_code = resident
            .as_ref()
            .map(|r| r.grid_code.clone())
            .or_else(|| facts.last().map(|f| f.grid_code.clone()))
            .unwrap_or_default();
        // A registered resident inside the jurisdiction only; someone outside the register inside
        // the region of their newest fact (the checkpoint they arrived through, the office that
        // coded them).
        self.require_person_within(actor, &person.id_type, &person.id_number)
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "view_health_code",
            &format!(
                "{}:{}",
                person.id_type,
                mask_document(&person.id_type, &person.id_number)
            ),
            "",
        )
        .await?;
        Ok(PersonCode {
            name: resident
                .as_ref()
                .map(|r| mask_middle(&r.name, 1, 0))
                .unwrap_or_else(|| "（不在本地登记）".into()),
            id_type: person.id_type.clone(),
            id_number_masked: mask_document(&person.id_type, &person.id_number),
            grid_code,
            resident_id: resident.as_ref().map(|r| r.id),
            code: view,
            facts: facts.iter().map(fact_view).collect(),
            changes: self.store.code_changes_of(&person).await?,
            appeals: masked_appeals(self.store.appeals_of(&person).await?),
        })
    }

    /// Counts per colour and the worst codes in the actor's jurisdiction.
    pub async fn code_overview(
        &self,
        actor: &Actor,
        colour: Option<&str>,
    ) -> AppResult<CodeOverview> {
        actor.require(Permission::ViewHealthCodes)?;
        let (lower, upper) = actor.jurisdiction_range();
        let counts = self.store.colour_counts((&lower, &upper)).await?;
        let count_of = |c: &str| {
            counts
                .iter()
                .filter(|r| r.colour == c)
                .map(|r| r.people)
                .sum()
        };
        let popups = counts.iter().map(|r| r.popups).sum();
        let policy = self.code_policy().await?;
        let colour = colour.filter(|c| CodeColour::from_code(c).is_some());
        Ok(CodeOverview {
            policy_id: policy.id.clone(),
            policy_name: policy.name_zh.clone(),
            policies: hc::policies()
                .iter()
                .map(|p| (p.id.clone(), p.name_zh.clone()))
                .collect(),
            red: count_of("red"),
            yellow: count_of("yellow"),
            popups,
            counts: counts.clone(),
            people: self
                .store
                .health_codes_in((&lower, &upper), colour, 300)
                .await?
                .into_iter()
                .map(code_list_row)
                .collect(),
            open_appeals: self
                .store
                .appeals((&lower, &upper), Some("open"), 1000)
                .await?
                .len() as i64,
        })
    }

    // -- facts by hand ---------------------------------------------------------------------------

    /// Adds a fact to a person's code by hand (a close contact named by the investigation, an
    /// arrival, a colour set by another province, a manual override) and recomputes the code.
    pub async fn add_code_fact(
        &self,
        actor: &Actor,
        form: &FactForm,
    ) -> AppResult<HealthCodeRecord> {
        actor.require(Permission::DecideHealthCodes)?;
        let document = parse_document(&form.id_type, &form.id_number)?;
        let kind = FactKind::from_code(form.kind.trim()).ok_or_else(|| {
            AppError::Invalid(format!("赋码原因“{}”无法识别，请从列表中选择", form.kind))
        })?;
        let needs_colour = matches!(kind, FactKind::OtherProvince | FactKind::ManualOverride);
        let colour = if needs_colour {
            Some(CodeColour::from_code(form.colour.trim()).ok_or_else(|| {
                AppError::Invalid("请选择要设定的码色（绿码、黄码或红码）".into())
            })?)
        } else {
            None
        };
        let note = form.note.trim();
        if matches!(kind, FactKind::ManualOverride | FactKind::OtherProvince) && note.is_empty() {
            return Err(AppError::Invalid(if kind == FactKind::ManualOverride {
                "人工转码必须写明理由（将记入审计日志）".into()
            } else {
                "请写明赋码省份及其来函文号".into()
            }));
        }
        let now = self.now_unix();
        let anchor = if form.anchor.trim().is_empty() {
            now
        } else {
            parse_beijing_time(&form.anchor, "时间")?
        };
        if anchor > now + 3600 {
            return Err(AppError::Invalid(format!(
                "时间 {} 在将来，请填写已经发生的时间",
                beijing_label(anchor)
            )));
        }
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().to_string(),
        };
        // Someone not in the register belongs to the region of their newest fact; someone nobody
        // recorded yet to the office that codes them first.
        let home = self
            .require_person_within(actor, &person.id_type, &person.id_number)
            .await?;
        let resident = self
            .resident_by_document(&person.id_type, &person.id_number)
            .await?;
        let write = FactWrite {
            fact_key: format!(
                "manual:{}:{}:{}:{}:{}",
                rand::random::<u32>(),
                actor.user_id,
                person.id_number,
                kind.code(),
                now
            ),
            person: person.clone(),
            resident_id: resident.as_ref().map(|r| r.id),
            grid_code: home.unwrap_or_else(|| actor.jurisdiction.as_str().to_string()),
            kind: kind.code().to_string(),
            anchor,
            ended_at: None,
            colour: colour.map(|c| c.code().to_string()),
            note: (!note.is_empty()).then(|| note.to_string()),
            source: format!("{}（{}）", actor.display_name, actor.role.label_zh()),
            created_by: actor.username.clone(),
        };
        let codes = self
            .change_code_facts(
                &[write],
                &[],
                &format!("{}：{}", actor.display_name, kind.label_zh()),
            )
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "add_code_fact",
            &format!(
                "{}:{}",
                person.id_type,
                mask_document(&person.id_type, &person.id_number)
            ),
            &format!("{} {}", kind.code(), note),
        )
        .await?;
        codes
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal("the code was not recomputed".into()))
    }

    /// Ends a fact (another province cleared its colour, an override withdrawn, a case discharged).
    pub async fn end_code_fact(&self, actor: &Actor, fact_id: i64, reason: &str) -> AppResult<()> {
        actor.require(Permission::DecideHealthCodes)?;
        let fact = self
            .store
            .fact(fact_id)
            .await?
            .ok_or(AppError::NotFound("该赋码记录"))?;
        if fact.grid_code.is_empty() {
            self.require_person_within(actor, &fact.id_type, &fact.id_number)
                .await?;
        } else {
            ensure_within(actor, &fact)?;
        }
        if fact.ended_at.is_some() || fact.withdrawn_at.is_some() {
            return Err(AppError::Conflict("该赋码记录已经结束".into()));
        }
        if reason.trim().is_empty() {
            return Err(AppError::Invalid("请写明结束的理由".into()));
        }
        // Kinds whose rules run from an end (discharge, a negative recheck, another province's
        // clearance, an override withdrawn) are ended; for the others (a contact, an arrival …) the
        // rules run from the anchor alone, so ending early means the fact was wrong: withdrawn.
        let ends = matches!(
            FactKind::from_code(&fact.kind),
            Some(
                FactKind::Confirmed
                    | FactKind::Asymptomatic
                    | FactKind::Suspected
                    | FactKind::PoolPositivePending
                    | FactKind::InitialScreenPositive
                    | FactKind::OtherProvince
                    | FactKind::ManualOverride
            )
        );
        let at = self.now_unix();
        let update = if ends {
            FactUpdate::EndOne { fact_id, at }
        } else {
            FactUpdate::Withdraw { fact_id, at }
        };
        self.change_code_facts(
            &[],
            &[update],
            &format!("{}：{}", actor.display_name, reason.trim()),
        )
        .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "end_code_fact",
            &fact_id.to_string(),
            reason.trim(),
        )
        .await
    }

    /// Records that the person reported to the community and was checked (a pop-up needs it).
    pub async fn record_community_check(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
    ) -> AppResult<()> {
        if !(actor.role.allows(Permission::DecideHealthCodes)
            || actor.role.allows(Permission::RecordDoorVisit))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let document = parse_document(id_type, id_number)?;
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().to_string(),
        };
        self.require_person_within(actor, &person.id_type, &person.id_number)
            .await?;
        let facts = self.store.facts_of(&person).await?;
        if !facts.iter().any(|f| f.ended_at.is_none()) {
            return Err(AppError::Invalid("此人没有需要报备核查的赋码记录".into()));
        }
        self.change_code_facts(
            &[],
            &[FactUpdate::Checked {
                person: person.clone(),
                at: self.now_unix(),
            }],
            &format!("{}：社区报备核查完成", actor.display_name),
        )
        .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "community_check",
            &mask_document(&person.id_type, &person.id_number),
            "",
        )
        .await
    }

    /// 应检未检: gives everyone of a round's region who has no swab and no exemption a
    /// due-not-tested fact anchored at the round's deadline. Returns how many were marked.
    pub async fn mark_round_untested(&self, actor: &Actor, round_id: i64) -> AppResult<usize> {
        actor.require(Permission::DecideHealthCodes)?;
        let round = load_within(actor, self.store.round(round_id)).await?;
        let Some(deadline) = round.deadline_at else {
            return Err(AppError::Invalid(
                "常态化检测没有截止时间，不能标记应检未检".into(),
            ));
        };
        let now = self.now_unix();
        if now < deadline {
            return Err(AppError::Invalid(format!(
                "本轮截止时间 {} 还没到，到时再标记应检未检",
                beijing_label(deadline)
            )));
        }
        let mut marked = 0;
        let mut after = 0;
        loop {
            let people = self.store.round_untested(round_id, after, 5_000).await?;
            if let Some((_, last, _)) = people.last() {
                after = *last;
            }
            let writes: Vec<FactWrite> = people
                .into_iter()
                .map(|(person, resident_id, grid)| FactWrite {
                    fact_key: format!(
                        "untested:{round_id}:{}:{}",
                        person.id_type, person.id_number
                    ),
                    person,
                    resident_id: Some(resident_id),
                    grid_code: grid,
                    kind: FactKind::DueNotTested.code().to_string(),
                    anchor: deadline,
                    ended_at: None,
                    colour: None,
                    note: Some(format!("{}应检未检", round.name)),
                    source: format!("检测轮次：{}", round.name),
                    created_by: actor.username.clone(),
                })
                .collect();
            let page = writes.len();
            self.change_code_facts(&writes, &[], &format!("{}应检未检", round.name))
                .await?;
            marked += page;
            // Pages follow resident ids, so a short page is the last one.
            if page < 5_000 {
                break;
            }
        }
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "mark_round_untested",
            &round_id.to_string(),
            &marked.to_string(),
        )
        .await?;
        Ok(marked)
    }

    // -- appeals ---------------------------------------------------------------------------------

    /// A resident disputes their own code (申诉).
    pub async fn file_appeal(&self, actor: &Actor, reason: &str) -> AppResult<i64> {
        actor.require(Permission::ShowOwnCode)?;
        let reason = reason.trim();
        if reason.chars().count() < 4 {
            return Err(AppError::Invalid(
                "请写明申诉理由（例如：已解除隔离、核酸结果已阴性、行程有误）".into(),
            ));
        }
        if reason.chars().count() > 500 {
            return Err(AppError::Invalid("申诉理由请控制在500字以内".into()));
        }
        let resident = self.own_resident(actor).await?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        if self
            .store
            .appeals_of(&person)
            .await?
            .iter()
            .any(|a| a.status == "open")
        {
            return Err(AppError::Conflict(
                "您已有一条申诉正在处理，请等待处理结果".into(),
            ));
        }
        let (state, _, _) = self.current_code(&person).await?;
        let inserted = self
            .store
            .insert_appeal(&AppealRecord {
                id: 0,
                id_type: person.id_type.clone(),
                id_number: person.id_number.clone(),
                resident_id: Some(resident.id),
                grid_code: resident.grid_code.clone(),
                filed_at: self.now_unix(),
                filed_by: actor.username.clone(),
                colour: state.colour.code().to_string(),
                reason: reason.to_string(),
                status: "open".into(),
                decided_at: None,
                decided_by: None,
                decision: None,
            })
            .await;
        match inserted {
            Ok(id) => Ok(id),
            // Two submits at once: the one-open-appeal index refuses the second.
            Err(e) if e.is_unique_violation() => Err(AppError::Conflict(
                "您已有一条申诉正在处理，请等待处理结果".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn appeals(&self, actor: &Actor, status: Option<&str>) -> AppResult<Vec<AppealView>> {
        actor.require(Permission::ViewHealthCodes)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .appeals((&lower, &upper), status, 500)
            .await?
            .into_iter()
            .map(|mut a| AppealView {
                id_number_masked: {
                    // The full number never leaves the app in a view.
                    a.id_number = mask_document(&a.id_type, &a.id_number);
                    a.id_number.clone()
                },
                colour_label: CodeColour::from_code(&a.colour)
                    .map(|c| c.label_zh())
                    .unwrap_or(""),
                appeal: a,
            })
            .collect())
    }

    /// Decides an appeal: accepted appeals turn the code green by an audited override with the
    /// decision as its reason; rejected ones keep it and tell the resident why.
    pub async fn decide_appeal(
        &self,
        actor: &Actor,
        appeal_id: i64,
        accept: bool,
        decision: &str,
    ) -> AppResult<()> {
        actor.require(Permission::DecideHealthCodes)?;
        let appeal = load_within(actor, self.store.appeal(appeal_id)).await?;
        let decision = decision.trim();
        if decision.is_empty() {
            return Err(AppError::Invalid("请写明处理意见（将告知申诉人）".into()));
        }
        let status = if accept { "accepted" } else { "rejected" };
        if appeal.status != "open" {
            return Err(AppError::Conflict("该申诉已经处理过".into()));
        }
        if accept {
            // 转码: the facts the resident disputed are withdrawn (not overridden), so a later fact —
            // a new positive, a new contact — colours the code again as the rules say. Withdrawing
            // is idempotent, so a retry after a failure here repeats it harmlessly.
            let person = CodePerson {
                id_type: appeal.id_type.clone(),
                id_number: appeal.id_number.clone(),
            };
            let now = self.now_unix();
            let open: Vec<FactUpdate> = self
                .store
                .facts_of(&person)
                .await?
                .iter()
                .filter(|f| f.withdrawn_at.is_none() && f.anchor <= now)
                .map(|f| FactUpdate::Withdraw {
                    fact_id: f.id,
                    at: now,
                })
                .collect();
            self.change_code_facts(&[], &open, &format!("申诉#{appeal_id}核实通过：{decision}"))
                .await?;
        }
        if !self
            .store
            .decide_appeal(
                appeal_id,
                status,
                decision,
                &actor.username,
                self.now_unix(),
            )
            .await?
        {
            return Err(AppError::Conflict("该申诉已经处理过".into()));
        }
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "decide_appeal",
            &appeal_id.to_string(),
            &format!("{status}: {decision}"),
        )
        .await
    }
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
        appeal.id_number = mask_document(&appeal.id_type, &appeal.id_number);
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
        colour: CodeColour::from_code(&code.colour).unwrap_or(CodeColour::Green),
        popup: code.popup.is_some(),
        summary: code.summary.clone(),
        stale_at: if code.waits_for_test {
            Some(code.computed_at)
        } else {
            code.turns_green_at
        },
    }
}
