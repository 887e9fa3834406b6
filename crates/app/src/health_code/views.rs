//! What the health-code pages and the API show: codes, facts, history, policies, appeals.

use super::*;

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
/// another province's colour, an override). Unchecked text: no `Debug`.
#[derive(Clone, Default, Deserialize)]
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
    /// Red first, then yellow, then pop-ups on green; the first 300.
    pub people: crate::Page<CodeListRow>,
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

/// A Beijing time typed for `what`, a date alone being that day's start
/// ([`fangkong_domain::time::parse_beijing_day_start`]), as unix seconds.
pub(crate) fn day_start_time(text: &str, what: &str) -> AppResult<i64> {
    crate::typed_unix(fangkong_domain::time::parse_beijing_day_start(text, what))
}

/// A stored fact as the domain's input.
pub(crate) fn domain_fact(record: &FactRecord) -> Option<CodeFact> {
    // A withdrawn fact was found wrong: it does not count at all.
    if record.withdrawn_at.is_some() {
        return None;
    }
    Some(CodeFact {
        kind: record.kind,
        anchor: unix_to_utc(record.anchor),
        ended_at: record.ended_at.map(unix_to_utc),
        colour: record.colour,
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
        colour: state.colour,
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

pub(crate) fn code_view(
    policy: &CodePolicy,
    state: &CodeState,
    negatives: &[i64],
    now: i64,
) -> CodeView {
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

pub(crate) fn badge_code(badge: TestBadge) -> &'static str {
    match badge {
        TestBadge::H24 => "24h",
        TestBadge::H48 => "48h",
        TestBadge::H72 => "72h",
        TestBadge::D7 => "7d",
        TestBadge::None => "none",
    }
}

pub(crate) fn fact_view(record: &FactRecord) -> FactView {
    FactView {
        id: record.id,
        withdrawn_at: record.withdrawn_at,
        kind: record.kind.code().to_string(),
        kind_label: record.kind.label_zh(),
        anchor: record.anchor,
        ended_at: record.ended_at,
        colour: record.colour.map(|c| c.code().to_string()),
        checked_at: record.checked_at,
        note: record.note.clone().unwrap_or_default(),
        source: record.source.clone(),
        created_by: record.created_by.clone(),
    }
}

pub(crate) fn code_list_row(record: HealthCodeRecord) -> CodeListRow {
    let colour = record.colour;
    CodeListRow {
        id_number_masked: mask_document(&record.id_type, &record.id_number),
        id_type: record.id_type,
        resident_id: record.resident_id,
        grid_code: record.grid_code,
        colour: colour.code().to_string(),
        colour_label: colour.label_zh(),
        popup: record.popup.is_some(),
        summary: record.summary,
        turns_green_at: record.turns_green_at,
    }
}

/// The facts a person event (mass testing, investigation) brings, and the facts it ends.
pub(crate) fn facts_of_event(event: &PersonEventRecord) -> (Option<FactWrite>, Option<FactUpdate>) {
    let person = CodePerson {
        id_type: event.id_type.clone(),
        id_number: event.id_number.as_str().into(),
    };
    let fact = |kind: FactKind, note: &str| FactWrite {
        fact_key: format!("event:{}", event.id),
        person: person.clone(),
        resident_id: event.resident_id,
        grid_code: event.grid_code.clone(),
        kind,
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
        // Big data pushed the person: the pop-up (or the category's colour) applies from the push.
        person_event::BIG_DATA_PUSH => {
            let Some(detail) = serde_json::from_str::<PushEvent>(&event.detail).ok() else {
                return (None, None);
            };
            let category = RiskCategory::from_code(&detail.category).unwrap_or(RiskCategory::Other);
            let mut write = fact(
                FactKind::of_push(category),
                &format!("大数据推送：{}", category.label_zh()),
            );
            write.anchor = detail.pushed_at;
            write.source = format!("大数据推送：线索 {}", detail.lead_id);
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

pub(crate) fn hmac_hex(key: &[u8], message: &str, hex_len: usize) -> String {
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
