//! Checkpoints (卡口) and venue codes (场所码): verify a code or an ID at a checkpoint, decide by the
//! checkpoint type's rule, log the passage durably; venues' QR codes and visits; the itinerary
//! question tracing asks ("who passed checkpoint X / visited venue Y between t1 and t2").

use std::collections::HashMap;
use std::sync::Arc;

use fangkong_domain::checkpoint::{self as cp, CheckpointKind, Decision, DefenceLine, Presented};
use fangkong_domain::health_code::{CodeColour, FactKind};
use fangkong_domain::region::RegionCode;
use fangkong_domain::risk_area::AreaTier;
use fangkong_domain::role::Permission;
use fangkong_store::{
    CheckpointRecord, CodePerson, FactWrite, ItineraryStop, PassageRecord, PassageWrite,
    VenueRecord, VenueVisitRecord,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, mpsc, oneshot};

use crate::health_code::{
    beijing_label, parse_beijing_time, parse_document, parse_venue_code, unix_to_utc,
    venue_code_text,
};
use crate::population::mask_document;
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, Store, audit};

/// The most people one "who was there" answer lists (a longer window is asked in parts).
const WHO_WAS_AT_LIMIT: i64 = 20_000;

/// Passages per group transaction at most: enough to log thousands of checks a second in a few
/// commits, few enough that one commit holds SQLite's write lock for milliseconds, not seconds,
/// so logins, visits and every other write get their turn between groups.
pub const GROUP_MAX_PASSAGES: usize = 500;

type PassageJob = (PassageWrite, oneshot::Sender<Result<bool, String>>);

/// One writer task per process logs passages: every check waiting when a transaction starts joins
/// it, so thousands of checks a second cost a few disk flushes — and a check is answered only after
/// the commit that holds its passage (an acknowledged passage survives a crash).
#[derive(Clone, Debug, Default)]
pub(crate) struct PassageWriter(Arc<OnceCell<mpsc::Sender<PassageJob>>>);

impl PassageWriter {
    async fn sender(&self, store: &Store) -> mpsc::Sender<PassageJob> {
        self.0
            .get_or_init(|| async {
                let (tx, rx) = mpsc::channel(16_384);
                tokio::spawn(run_passage_writer(store.clone(), rx));
                tx
            })
            .await
            .clone()
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

async fn run_passage_writer(store: Store, mut rx: mpsc::Receiver<PassageJob>) {
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
                tracing::error!(%error, passages = passages.len(), "passage group failed");
                for reply in replies {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
        }
        // Between groups, let the answered checks and other writers run before the next BEGIN.
        tokio::task::yield_now().await;
    }
}

/// A check at a checkpoint as the page or the API sends it.
#[derive(Debug, Clone, Default, Deserialize)]
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
    let colour = p.colour.as_deref().and_then(CodeColour::from_code);
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
        colour: p.colour.clone(),
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

impl App {
    // -- registry --------------------------------------------------------------------------------

    pub async fn create_checkpoint(&self, actor: &Actor, form: &CheckpointForm) -> AppResult<i64> {
        actor.require(Permission::ManageCheckpoints)?;
        let name = form.name.trim();
        if name.is_empty() {
            return Err(AppError::Invalid(
                "请填写卡口名称，例如“G107京港澳高速冀京界卡口”".into(),
            ));
        }
        let kind = CheckpointKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::Invalid("请选择卡口类型".into()))?;
        let line = if form.line.trim().is_empty() {
            kind.default_line()
        } else {
            DefenceLine::from_code(form.line.trim()).ok_or_else(|| {
                AppError::Invalid("防线无法识别：应为省域周边、省域内或环京周边".into())
            })?
        };
        let region = RegionCode::parse(&form.region_code).map_err(AppError::Invalid)?;
        actor.require_within(&region)?;
        if self.store.region(region.as_str()).await?.is_none() {
            return Err(AppError::Invalid(format!(
                "区划编码“{}”不存在",
                region.as_str()
            )));
        }
        let id = self
            .store
            .insert_checkpoint(
                name,
                kind.code(),
                line.code(),
                region.as_str(),
                self.now_unix(),
                &actor.username,
            )
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "create_checkpoint",
            &id.to_string(),
            name,
        )
        .await?;
        Ok(id)
    }

    pub async fn checkpoints(&self, actor: &Actor) -> AppResult<Vec<CheckpointView>> {
        if !(actor.role.allows(Permission::VerifyAtCheckpoint)
            || actor.role.allows(Permission::ManageCheckpoints))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .checkpoints((&lower, &upper))
            .await?
            .into_iter()
            .map(checkpoint_view)
            .collect())
    }

    /// A checkpoint, from memory after the first read (the verifier reads it on every check).
    async fn checkpoint_in(&self, actor: &Actor, id: i64) -> AppResult<CheckpointRecord> {
        let cached = self
            .codes
            .checkpoints
            .read()
            .expect("checkpoint lock")
            .get(&id)
            .cloned();
        let checkpoint = match cached {
            Some(c) => c,
            None => {
                let found = self
                    .store
                    .checkpoint(id)
                    .await?
                    .ok_or(AppError::NotFound("该卡口"))?;
                self.codes
                    .checkpoints
                    .write()
                    .expect("checkpoint lock")
                    .insert(id, found.clone());
                found
            }
        };
        if !actor.jurisdiction.as_str().is_empty()
            && !checkpoint
                .region_code
                .starts_with(actor.jurisdiction.as_str())
        {
            return Err(AppError::NotFound("该卡口"));
        }
        Ok(checkpoint)
    }

    pub async fn checkpoint(&self, actor: &Actor, id: i64) -> AppResult<CheckpointView> {
        if !(actor.role.allows(Permission::VerifyAtCheckpoint)
            || actor.role.allows(Permission::ManageCheckpoints))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        Ok(checkpoint_view(self.checkpoint_in(actor, id).await?))
    }

    /// The latest passages at a checkpoint (masked) and counts per decision today.
    pub async fn checkpoint_passages(
        &self,
        actor: &Actor,
        id: i64,
        limit: i64,
    ) -> AppResult<(Vec<PassageView>, Vec<(String, &'static str, i64)>)> {
        actor.require(Permission::VerifyAtCheckpoint)?;
        self.checkpoint_in(actor, id).await?;
        let now = self.now_unix();
        let day_start = self
            .today()
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(crate::china_offset()).single())
            .map(|t| t.timestamp())
            .unwrap_or(now - 86_400);
        let passages = self
            .store
            .passages_at(id, now - 7 * 86_400, now + 60, limit)
            .await?;
        let counts = self
            .store
            .passage_counts(id, day_start)
            .await?
            .into_iter()
            .map(|(code, n)| {
                let label = decision_label(&code);
                (code, label, n)
            })
            .collect();
        Ok((
            passages
                .into_iter()
                .map(|p| PassageView {
                    at_label: beijing_label(p.at),
                    at: p.at,
                    method: p.method.clone(),
                    id_number_masked: if p.id_number.is_empty() {
                        "—".into()
                    } else {
                        mask_document(&p.id_type, &p.id_number)
                    },
                    colour_label: p
                        .colour
                        .as_deref()
                        .and_then(CodeColour::from_code)
                        .map(|c| c.label_zh())
                        .unwrap_or("—"),
                    temperature: p.temperature,
                    plate: p.plate.clone().unwrap_or_default(),
                    decision_label: decision_label(&p.decision),
                    reasons: p.reasons.clone(),
                })
                .collect(),
            counts,
        ))
    }

    // -- the check -------------------------------------------------------------------------------

    /// Verifies what a checkpoint scanned or typed, decides by the checkpoint's rule and logs the
    /// passage durably before answering. An unreadable, forged or expired code is refused with the
    /// reason and logged too (as "rejected"), so attempts are on record.
    pub async fn verify_at_checkpoint(
        &self,
        actor: &Actor,
        checkpoint_id: i64,
        scan: &CheckpointScan,
    ) -> AppResult<CheckOutcome> {
        actor.require(Permission::VerifyAtCheckpoint)?;
        let checkpoint = self.checkpoint_in(actor, checkpoint_id).await?;
        let key = scan.passage_key.trim();
        if key.is_empty() || key.len() > 100 {
            return Err(AppError::Invalid(
                "缺少查验编号（passage_key），请刷新页面后重试".into(),
            ));
        }
        if !checkpoint.active {
            return Err(AppError::Invalid("该卡口已撤除，不能再登记查验".into()));
        }
        // Read what was typed; a mistake is answered in words and, like every refusal at the post,
        // logged (an impossible temperature is refused, never stored as a reading).
        let temperature = match scan.temperature.trim() {
            "" => Ok(None),
            // One decimal, as the thermometer shows it.
            text => cp::parse_temperature(text)
                .map(|t| Some((f64::from(t) * 10.0).round() / 10.0))
                .map_err(|e| e.to_string()),
        };
        let plate = match scan.plate.trim() {
            "" => Ok(None),
            text => cp::parse_plate(text).map(Some).map_err(|e| e.to_string()),
        };
        // A retry is found by the unique key when its passage is written (no read on the way in:
        // thousands of checks a second should not pay for the rare retry); it gets the logged answer.
        let passage_key = format!("{checkpoint_id}:{key}");
        let kind =
            CheckpointKind::from_code(&checkpoint.kind).unwrap_or(CheckpointKind::CommunityGate);
        let rule = cp::rule_for(kind);
        let now = self.now_unix();
        let code = scan.code.trim();
        let mut passage = PassageWrite {
            id: 0,
            passage_key,
            checkpoint_id,
            at: now,
            method: if code.starts_with("HC1:") {
                "dcc".into()
            } else if code.starts_with(fangkong_signed_code::CODE_PREFIX) {
                "qr".into()
            } else {
                "id".into()
            },
            id_type: "mainland_id".into(),
            id_number: String::new(),
            resident_id: None,
            colour: None,
            popup: false,
            temperature: temperature.clone().ok().flatten(),
            plate: plate.clone().ok().flatten(),
            from_region: None,
            decision: String::new(),
            reasons: String::new(),
            recorder: actor.username.clone(),
        };
        if let Err(words) = temperature.as_ref().and(plate.as_ref()) {
            // Logged under a key of its own: the corrected check that follows (same page, same key)
            // must be decided, not answered with this refusal.
            let mut refused = passage.clone();
            refused.passage_key = format!("{}:bad-input", passage.passage_key);
            let _ = self.log_rejected(refused, words.clone()).await?;
            return Err(AppError::Invalid(words.clone()));
        }
        let mut name: Option<String> = None;
        let (person, resident_id, colour, popup, last_negative, inbound) = if code
            .starts_with("HC1:")
        {
            passage.method = "dcc".into();
            let keys = self.code_keys().await?;
            match fangkong_signed_code::verify_dcc(&keys.dsc, code, now) {
                Ok(dcc) => {
                    passage.id_type = "passport".into();
                    passage.id_number = format!(
                        "DCC:{}:{}:{}",
                        dcc.issuer_country, dcc.family_name, dcc.date_of_birth
                    );
                    (None, None, CodeColour::Green, false, None, Some(dcc))
                }
                Err(rejection) => return self.log_rejected(passage, rejection.words_zh()).await,
            }
        } else if code.starts_with(fangkong_signed_code::CODE_PREFIX) {
            passage.method = "qr".into();
            let keys = self.code_keys().await?;
            let claims = match fangkong_signed_code::verify_code(&keys.trust, code, now) {
                Ok(claims) => claims,
                Err(rejection) => return self.log_rejected(passage, rejection.words_zh()).await,
            };
            let Some(owner) = self
                .codes
                .person_of_subject(&self.store, &claims.subject)
                .await?
            else {
                return self
                    .log_rejected(
                        passage,
                        "二维码签名有效，但持码人不在本系统登记（可能是外省码），请核验身份证"
                            .into(),
                    )
                    .await;
            };
            let person = owner.person;
            let resident_id = owner.resident_id;
            name = owner.name;
            if !scan.id_number.trim().is_empty() {
                let swiped = parse_document("", &scan.id_number)?;
                if swiped.number() != person.id_number || swiped.id_type().code() != person.id_type
                {
                    passage.id_number = person.id_number.clone();
                    return self
                        .log_rejected(
                            passage,
                            "人码不符：出示的健康码不是此身份证本人的，请本人出示自己的健康码"
                                .into(),
                        )
                        .await;
                }
            }
            // Online, the current code wins over the colour signed into the QR a few minutes ago.
            let (colour, popup) = self.colour_now(&person, now).await?;
            (
                Some(person),
                resident_id,
                colour,
                popup,
                claims.last_negative_sampled_at,
                None,
            )
        } else {
            passage.method = "id".into();
            let document = parse_document("", code).map_err(|e| {
                AppError::Invalid(format!("{e}（请扫描健康码，或输入18位身份证号）"))
            })?;
            let person = CodePerson {
                id_type: document.id_type().code().to_string(),
                id_number: document.number().to_string(),
            };
            let (colour, popup) = self.colour_now(&person, now).await?;
            let last_negative = self.store.negatives_of(&person).await?.into_iter().max();
            (Some(person), None, colour, popup, last_negative, None)
        };
        // Arrivals from a county with a medium or high risk area: landing test and an assigned code.
        let mut arrival_tier: Option<AreaTier> = None;
        if let Ok(from) = RegionCode::parse(&scan.from_region) {
            passage.from_region = Some(from.as_str().to_string());
            let county = if from.as_str().len() > 6 {
                &from.as_str()[..6]
            } else {
                from.as_str()
            };
            arrival_tier = self
                .store
                .active_risk_areas_around(county)
                .await?
                .iter()
                .filter_map(|a| AreaTier::from_code(&a.tier))
                .filter(|t| t.colour_fact().is_some())
                .max_by_key(|t| crate::risk_areas::tier_rank(*t));
        } else if !scan.from_region.trim().is_empty() {
            return Err(AppError::Invalid(format!(
                "来源地“{}”不是区划编码：请选择来自的县区",
                scan.from_region.trim()
            )));
        }
        let presented = Presented {
            colour,
            popup,
            last_negative_sampled_at: last_negative.map(unix_to_utc),
            temperature_c: temperature.ok().flatten().map(|t| t as f32),
            arriving_from_risk_area: arrival_tier.is_some() || inbound.is_some(),
        };
        let decision = cp::decide(rule, &presented, unix_to_utc(now));
        let mut reasons = decision.reasons.clone();
        if let Some(dcc) = &inbound {
            reasons.insert(
                0,
                format!(
                    "欧盟数字新冠证书有效（{}，签发国 {}），入境人员请登记证件后落地检测",
                    dcc.kind.label_zh(),
                    dcc.issuer_country
                ),
            );
        }
        passage.colour = Some(colour.code().to_string());
        passage.popup = popup;
        passage.resident_id = resident_id;
        if let Some(person) = &person {
            passage.id_type = person.id_type.clone();
            passage.id_number = person.id_number.clone();
        }
        passage.decision = decision.decision.code().to_string();
        passage.reasons = reasons.join("；");
        // 赋码 before the passage is logged: the arrival's fact key (checkpoint, person, Beijing
        // day) makes a repeat harmless, and a failure here leaves no logged check without its code.
        let assigned = decision.assign_code && person.is_some();
        if assigned && let Some(person) = &person {
            let fact_kind = arrival_tier
                .and_then(|t| t.colour_fact())
                .unwrap_or(FactKind::Inbound);
            self.assign_arrival_code(person, fact_kind, &checkpoint, now, scan.from_region.trim())
                .await?;
        }
        if !self.log_passage(passage.clone()).await? {
            return self.logged_answer(&passage.passage_key).await;
        }
        // The name comes with the subject (no read per check); a DCC carries its holder's.
        let name_masked = name
            .or_else(|| {
                inbound
                    .as_ref()
                    .map(|d| format!("{} {}", d.family_name, d.given_name))
            })
            .map(|n: String| fangkong_domain::ids::mask_middle(&n, 1, 0))
            .unwrap_or_default();
        let badge = fangkong_domain::health_code::test_badge(
            last_negative.map(unix_to_utc),
            unix_to_utc(now),
        );
        Ok(CheckOutcome {
            decision: decision.decision.code().to_string(),
            decision_label: decision.decision.label_zh(),
            reasons,
            method: passage.method.clone(),
            colour: Some(colour.code().to_string()),
            colour_label: colour.label_zh(),
            popup,
            name_masked,
            id_number_masked: person
                .as_ref()
                .map(|p| mask_document(&p.id_type, &p.id_number))
                .unwrap_or_default(),
            badge_label: badge.label_zh(),
            assign_code: assigned,
            repeated: false,
            at: now,
        })
    }

    /// A person's colour and pop-up at a check: from the verifier's memory while it is fresh,
    /// computed from the facts when time may have changed it, plain green for nobody with a fact.
    async fn colour_now(&self, person: &CodePerson, now: i64) -> AppResult<(CodeColour, bool)> {
        Ok(match self.codes.brief(&self.store, person).await? {
            Some(b) if b.stale_at.is_none_or(|t| t > now) => (b.colour, b.popup),
            Some(_) => {
                let (state, _, _) = self.current_code(person).await?;
                (state.colour, state.popup.is_some())
            }
            None => (CodeColour::Green, false),
        })
    }

    async fn log_rejected(
        &self,
        mut passage: PassageWrite,
        words: String,
    ) -> AppResult<CheckOutcome> {
        passage.decision = "rejected".into();
        passage.reasons = words;
        if !self.log_passage(passage.clone()).await? {
            return self.logged_answer(&passage.passage_key).await;
        }
        Ok(passage_outcome(&passage, false))
    }

    /// The answer already logged under a passage key (a retry of a check that was written).
    async fn logged_answer(&self, passage_key: &str) -> AppResult<CheckOutcome> {
        let stored = self
            .store
            .passage_by_key(passage_key)
            .await?
            .ok_or_else(|| AppError::Internal("a logged passage vanished".into()))?;
        Ok(passage_outcome(&stored, true))
    }

    /// Logs a passage through the group-commit writer; true when it was new.
    async fn log_passage(&self, passage: PassageWrite) -> AppResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.passage_writer
            .sender(&self.store)
            .await
            .send((passage, reply))
            .await
            .map_err(|_| AppError::Internal("passage writer stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("passage writer dropped the reply".into()))?
            .map_err(AppError::Internal)
    }

    async fn assign_arrival_code(
        &self,
        person: &CodePerson,
        kind: FactKind,
        checkpoint: &CheckpointRecord,
        at: i64,
        from_region: &str,
    ) -> AppResult<()> {
        let resident = self
            .resident_by_document(&person.id_type, &person.id_number)
            .await?;
        let from_name = match self.store.region(from_region).await? {
            Some(r) => r.name,
            None => from_region.to_string(),
        };
        let write = FactWrite {
            fact_key: format!(
                "arrival:{}:{}:{}:{}",
                checkpoint.id,
                person.id_type,
                person.id_number,
                // The Beijing day: one arrival code per person, checkpoint and day.
                (at + 8 * 3600) / 86_400
            ),
            person: person.clone(),
            resident_id: resident.as_ref().map(|r| r.id),
            // Someone not in the register belongs, for now, to the checkpoint's region: its office
            // sees and manages the code.
            grid_code: resident
                .map(|r| r.grid_code)
                .unwrap_or_else(|| checkpoint.region_code.clone()),
            kind: kind.code().to_string(),
            anchor: at,
            ended_at: None,
            colour: None,
            note: Some(if from_name.is_empty() {
                format!("{}入境落地", checkpoint.name)
            } else {
                format!("来自{from_name}，经{}落地", checkpoint.name)
            }),
            source: format!("卡口：{}", checkpoint.name),
            created_by: "system".into(),
        };
        self.change_code_facts(&[write], &[], &format!("{}落地赋码", checkpoint.name))
            .await?;
        Ok(())
    }

    // -- venues ----------------------------------------------------------------------------------

    pub async fn create_venue(&self, actor: &Actor, form: &VenueForm) -> AppResult<i64> {
        actor.require(Permission::ManageCheckpoints)?;
        let name = form.name.trim();
        let kind = form.kind.trim();
        let address = form.address.trim();
        if name.is_empty() || kind.is_empty() || address.is_empty() {
            return Err(AppError::Invalid(
                "场所名称、类型和地址都要填写（场所码里保存这三项）".into(),
            ));
        }
        let region = RegionCode::parse(&form.region_code).map_err(AppError::Invalid)?;
        actor.require_within(&region)?;
        if self.store.region(region.as_str()).await?.is_none() {
            return Err(AppError::Invalid(format!(
                "区划编码“{}”不存在",
                region.as_str()
            )));
        }
        let id = self
            .store
            .insert_venue(
                name,
                kind,
                address,
                region.as_str(),
                self.now_unix(),
                &actor.username,
            )
            .await?;
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "create_venue",
            &id.to_string(),
            name,
        )
        .await?;
        Ok(id)
    }

    pub async fn venues(&self, actor: &Actor) -> AppResult<Vec<VenueView>> {
        if !(actor.role.allows(Permission::ManageCheckpoints)
            || actor.role.allows(Permission::QueryItinerary))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let keys = self.code_keys().await?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .venues((&lower, &upper))
            .await?
            .into_iter()
            .map(|venue| VenueView {
                code_text: venue_code_text(&keys.subject_key, venue.id),
                venue,
            })
            .collect())
    }

    pub async fn venue(&self, actor: &Actor, id: i64) -> AppResult<VenueView> {
        if !(actor.role.allows(Permission::ManageCheckpoints)
            || actor.role.allows(Permission::QueryItinerary))
        {
            return Err(AppError::Forbidden { role: actor.role });
        }
        let venue = load_within(actor, self.store.venue(id)).await?;
        let keys = self.code_keys().await?;
        Ok(VenueView {
            code_text: venue_code_text(&keys.subject_key, venue.id),
            venue,
        })
    }

    /// The venue a scanned venue code names, for the resident's check-in page before they confirm
    /// (only what the poster itself shows: name, type, address).
    pub async fn venue_of_code(&self, actor: &Actor, code_text: &str) -> AppResult<VenueView> {
        actor.require(Permission::ShowOwnCode)?;
        let keys = self.code_keys().await?;
        let venue_id = parse_venue_code(&keys.subject_key, code_text)?;
        let venue = self
            .store
            .venue(venue_id)
            .await?
            .ok_or(AppError::NotFound("该场所"))?;
        Ok(VenueView {
            code_text: venue_code_text(&keys.subject_key, venue.id),
            venue,
        })
    }

    /// A resident scans a venue's code: the visit is recorded with their current colour, and the
    /// page shows the colour for the door keeper.
    pub async fn check_in_venue(
        &self,
        actor: &Actor,
        code_text: &str,
        visit_key: &str,
    ) -> AppResult<VenueCheckIn> {
        actor.require(Permission::ShowOwnCode)?;
        let keys = self.code_keys().await?;
        let venue_id = parse_venue_code(&keys.subject_key, code_text)?;
        let venue = self
            .store
            .venue(venue_id)
            .await?
            .ok_or(AppError::NotFound("该场所"))?;
        let resident = self.own_resident(actor).await?;
        let person = CodePerson {
            id_type: resident.id_type.clone(),
            id_number: resident.id_number.clone(),
        };
        let (state, _, _) = self.current_code(&person).await?;
        let now = self.now_unix();
        if visit_key.len() > 100 {
            return Err(AppError::Invalid(
                "登记编号过长，请刷新页面后重新扫码".into(),
            ));
        }
        let key = if visit_key.trim().is_empty() {
            // Without a client key a page reload within the minute is the same visit.
            format!("{venue_id}:{}:{}", resident.id, now / 60)
        } else {
            format!("{venue_id}:{}:{}", resident.id, visit_key.trim())
        };
        let (_, fresh) = self
            .store
            .insert_venue_visit(&VenueVisitRecord {
                id: 0,
                visit_key: key,
                venue_id,
                at: now,
                id_type: person.id_type.clone(),
                id_number: person.id_number.clone(),
                resident_id: Some(resident.id),
                colour: state.colour.code().to_string(),
            })
            .await?;
        Ok(VenueCheckIn {
            venue_name: venue.name,
            colour: state.colour.code().to_string(),
            colour_label: state.colour.label_zh(),
            popup: state.popup.is_some(),
            at: now,
            name_masked: fangkong_domain::ids::mask_middle(&resident.name, 1, 0),
            repeated: !fresh,
        })
    }

    // -- itinerary -------------------------------------------------------------------------------

    /// Who passed a checkpoint or visited a venue between two Beijing times (audited: tracing).
    pub async fn who_was_at(
        &self,
        actor: &Actor,
        place_kind: &str,
        place_id: i64,
        from: &str,
        to: &str,
    ) -> AppResult<Vec<ItineraryRow>> {
        actor.require(Permission::QueryItinerary)?;
        match place_kind {
            "venue" => {
                load_within(actor, self.store.venue(place_id)).await?;
            }
            "checkpoint" => {
                load_within(actor, self.store.checkpoint(place_id)).await?;
            }
            _ => return Err(AppError::Invalid("地点类型应为卡口或场所".into())),
        }
        let from = parse_beijing_time(from, "开始时间")?;
        let to = parse_beijing_time(to, "结束时间")?;
        if to <= from {
            return Err(AppError::Invalid("结束时间要晚于开始时间".into()));
        }
        if to - from > 31 * 86_400 {
            return Err(AppError::Invalid("一次最多查询31天".into()));
        }
        let stops = self
            .store
            .who_was_at(place_kind, place_id, from, to, WHO_WAS_AT_LIMIT + 1)
            .await?;
        // Never a silently shortened list: tracing would miss people.
        if stops.len() as i64 > WHO_WAS_AT_LIMIT {
            return Err(AppError::Invalid(format!(
                "该时段超过{WHO_WAS_AT_LIMIT}人次，请缩小时间范围分段查询"
            )));
        }
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "query_itinerary",
            &format!("{place_kind}:{place_id}"),
            &format!(
                "{} – {}: {} people",
                beijing_label(from),
                beijing_label(to),
                stops.len()
            ),
        )
        .await?;
        Ok(stops.into_iter().map(itinerary_row).collect())
    }

    /// One person's passages and venue visits (audited).
    pub async fn itinerary_of(
        &self,
        actor: &Actor,
        id_type: &str,
        id_number: &str,
        from: &str,
        to: &str,
    ) -> AppResult<Vec<ItineraryRow>> {
        actor.require(Permission::QueryItinerary)?;
        let document = parse_document(id_type, id_number)?;
        let person = CodePerson {
            id_type: document.id_type().code().to_string(),
            id_number: document.number().to_string(),
        };
        let from = parse_beijing_time(from, "开始时间")?;
        let to = parse_beijing_time(to, "结束时间")?;
        let (lower, _) = actor.jurisdiction_range();
        let stops: Vec<ItineraryStop> = self
            .store
            .itinerary_of(&person, from, to)
            .await?
            .into_iter()
            .collect();
        // Only stops at places inside the jurisdiction are shown to a county user; the province sees all.
        let mut places: HashMap<(String, i64), bool> = HashMap::new();
        let mut visible = Vec::new();
        for stop in stops {
            let key = (stop.place_kind.clone(), stop.place_id);
            let inside = match places.get(&key) {
                Some(v) => *v,
                None => {
                    let region = if stop.place_kind == "venue" {
                        self.store
                            .venue(stop.place_id)
                            .await?
                            .map(|v| v.region_code)
                    } else {
                        self.store
                            .checkpoint(stop.place_id)
                            .await?
                            .map(|c| c.region_code)
                    };
                    let v = region.is_some_and(|r| r.starts_with(&lower));
                    places.insert(key, v);
                    v
                }
            };
            if inside {
                visible.push(stop);
            }
        }
        audit(
            self,
            Some(actor),
            &actor.username,
            &actor.client_addr,
            "query_itinerary",
            &mask_document(&person.id_type, &person.id_number),
            &format!("{} stops", visible.len()),
        )
        .await?;
        Ok(visible.into_iter().map(itinerary_row).collect())
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
    let kind = CheckpointKind::from_code(&checkpoint.kind);
    CheckpointView {
        kind_label: kind.map(|k| k.label_zh()).unwrap_or("未知"),
        line_label: DefenceLine::from_code(&checkpoint.line)
            .map(|l| l.label_zh())
            .unwrap_or("未知"),
        rule_words: kind
            .map(|k| check_words(cp::rule_for(k)))
            .unwrap_or_default(),
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
