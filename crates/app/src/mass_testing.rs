//! Mass testing (全员/区域核酸检测): rounds, sites and the planner, binding at the table (through one
//! group-commit writer), boxes and the chain of custody, coverage and the missing list, recheck
//! tasks, key-group routine testing, antigen self-tests, residents' own results.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use fangkong_domain::ids::{IdDocument, IdType, mask_middle};
use fangkong_domain::lab_result::TestResult;
use fangkong_domain::mass_testing::{
    DEADLINES_3RD_EDITION, ExemptionKind, MAX_TUBE_SERIAL, MAX_TUBES_PER_REQUEST, NHC_2022_NORMS,
    PlannerNorms, PoolSize, ROUTINE_SCHEDULES, ResultDelay, RiskTier, RoundKind, RoutineSchedule,
    SamplePurpose, SamplingCode, SitePlan, TubeBarcode, barcode_of_stored_serial, hours_to_sample,
    infant_cutoff, parse_box_barcode, round_tube_ceiling,
};
use fangkong_domain::person::KeyGroup;
use fangkong_domain::region::{RegionCode, RegionLevel};
use fangkong_domain::role::{Permission, Role};
use fangkong_store::{
    AntigenReportRecord, BoxRecord, NewRound, PersonEventRecord, PersonResult, ProgressRow,
    RecheckTaskRecord, RoundAreaRecord, RoundRecord, ScanOutcome, ScanWrite, ScannedPerson,
    SiteRecord, Store, TubeChainCounts,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, mpsc, oneshot};

use crate::population::mask_document;
use crate::scope::load_within;
use crate::{Actor, App, AppError, AppResult, Clock, audit_by, china_offset, parse_region_code};

/// Most scans one request may carry (an offline table uploads its queue in pieces of this size).
pub const MAX_SCANS_PER_BATCH: usize = 5000;
/// Most scans the writer puts in one transaction.
const GROUP_MAX_SCANS: usize = 8000;

// ---------------------------------------------------------------------------------------------
// The group-commit writer
// ---------------------------------------------------------------------------------------------

struct ScanJob {
    scans: Vec<ScanWrite>,
    reply: oneshot::Sender<Result<Vec<ScanOutcome>, String>>,
}

/// One writer task per process decides and commits bindings: every request waiting when a
/// transaction starts joins it, so a thousand tables cost one disk flush, not a thousand — and a
/// request is answered only after the commit that holds its scans.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScanWriter(Arc<OnceCell<mpsc::Sender<ScanJob>>>);

impl ScanWriter {
    async fn sender(&self, store: &Store, clock: &Arc<dyn Clock>) -> mpsc::Sender<ScanJob> {
        self.0
            .get_or_init(|| async {
                let (tx, rx) = mpsc::channel(4096);
                tokio::spawn(run_scan_writer(store.clone(), clock.clone(), rx));
                tx
            })
            .await
            .clone()
    }
}

async fn run_scan_writer(store: Store, clock: Arc<dyn Clock>, mut rx: mpsc::Receiver<ScanJob>) {
    // Planner statistics are refreshed as the tables grow: at 5,000 scans, then each time the
    // count doubles (at most every million).
    let mut written: u64 = 0;
    let mut next_statistics: u64 = 5_000;
    while let Some(first) = rx.recv().await {
        let mut count = first.scans.len();
        let mut jobs = vec![first];
        while count < GROUP_MAX_SCANS {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.scans.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut sizes = Vec::with_capacity(jobs.len());
        let mut replies = Vec::with_capacity(jobs.len());
        let mut all = Vec::with_capacity(count);
        for job in jobs {
            sizes.push(job.scans.len());
            replies.push(job.reply);
            all.extend(job.scans);
        }
        let now = clock.now().timestamp();
        match store.apply_scans(&all, now).await {
            Ok(outcomes) => {
                written += outcomes.len() as u64;
                if written >= next_statistics {
                    next_statistics = written + written.min(1_000_000);
                    let store = store.clone();
                    tokio::spawn(async move {
                        if let Err(error) = store.refresh_testing_statistics().await {
                            tracing::warn!(%error, "refreshing testing statistics failed");
                        }
                    });
                }
                let mut outcomes = outcomes.into_iter();
                for (size, reply) in sizes.into_iter().zip(replies) {
                    let _ = reply.send(Ok(outcomes.by_ref().take(size).collect()));
                }
            }
            Err(error) => {
                tracing::error!(%error, scans = all.len(), "binding group failed");
                for reply in replies {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Views and forms
// ---------------------------------------------------------------------------------------------

/// The form a commander fills in to open a round.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoundForm {
    pub name: String,
    pub kind: String,
    pub region_code: String,
    /// 1, 5, 10 or 20; empty = 10 (low-risk default).
    #[serde(default)]
    pub pool_size: String,
    /// Empty = by the policy (2/3 days by population, 24 h for an area).
    #[serde(default)]
    pub deadline_hours: String,
    #[serde(default)]
    pub infant_months: String,
    /// Designated areas, one per line: `<region code> <high|medium|low> [pool size]`.
    #[serde(default)]
    pub areas: String,
    /// Tube barcodes to issue with the round (0 = as many as the target needs at the pool size, ×1.2).
    #[serde(default)]
    pub tubes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundView {
    pub id: i64,
    pub name: String,
    pub kind: RoundKind,
    pub kind_label: &'static str,
    pub region_code: String,
    pub region_name: String,
    pub opened_at: i64,
    pub deadline_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub default_pool_size: i64,
    pub pool_label: String,
    pub infant_months: i64,
    pub target_population: i64,
    pub opened_by: String,
    pub areas: Vec<RoundAreaRecord>,
    pub tube_ranges: Vec<(String, String)>,
}

impl RoundView {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// One child region's line on the round page.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageLine {
    pub code: String,
    pub name: String,
    pub target: i64,
    pub exempt: i64,
    pub sampled: i64,
    pub outside: i64,
    pub walk_ins: i64,
    /// Sampled ÷ (target − exempt), in per mille (shown as a percentage with one decimal).
    pub per_mille: i64,
}

impl CoverageLine {
    fn add(&mut self, row: &ProgressRow) {
        self.target += row.target;
        self.exempt += row.exempt;
        self.sampled += row.sampled;
        self.outside += row.outside;
        self.walk_ins += row.walk_ins;
    }

    fn finish(&mut self) {
        let due = (self.target - self.exempt).max(0);
        self.per_mille = if due == 0 {
            1000
        } else {
            (self.sampled.min(due) * 1000) / due
        };
    }

    pub fn percent_label(&self) -> String {
        format!("{}.{}%", self.per_mille / 10, self.per_mille % 10)
    }

    pub fn missing(&self) -> i64 {
        (self.target - self.exempt - self.sampled).max(0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundOverview {
    pub round: RoundView,
    pub region_code: String,
    pub region_name: String,
    pub region_level: RegionLevel,
    pub totals: CoverageLine,
    pub children: Vec<CoverageLine>,
    pub chain: TubeChainCounts,
    /// Tubes still without a result past 6, 12 and 24 hours after closing.
    pub delays: Vec<(&'static str, i64)>,
    pub boxes_in_transit: Vec<BoxRecord>,
    pub boxes_late: i64,
    pub rechecks: Vec<(String, i64)>,
    pub rechecks_pending: i64,
    pub single_positives: i64,
    /// Swabs per hour in this region: (hour start, count).
    pub hourly: Vec<(i64, i64)>,
    pub sites: i64,
    pub tables: i64,
    /// Hours the region's remaining people take at its tables' rate.
    pub hours_to_finish: Option<f64>,
}

/// A box is late when nobody has received it this long after packing.
pub const BOX_LATE_AFTER_SECONDS: i64 = 2 * 3600;

#[derive(Debug, Clone, Serialize)]
pub struct PlanLine {
    pub code: String,
    pub name: String,
    pub population: i64,
    pub plan: SitePlan,
    pub sites_now: i64,
    pub tables_now: i64,
    pub hours_now: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SiteForm {
    pub region_code: String,
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub tables: String,
    #[serde(default)]
    pub staff: String,
    #[serde(default)]
    pub swabs_per_table_hour: String,
}

/// What a sampling table sends: its scans, in the order they were made.
#[derive(Debug, Clone, Deserialize)]
pub struct SamplingBatch {
    pub round_id: i64,
    pub site_id: i64,
    pub table_no: i64,
    pub scans: Vec<ScanInput>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanAction {
    #[default]
    Bind,
    Close,
}

/// One scan as the client made it. `scan_id` is the client's idempotency key: a retry of the same
/// scan (same id) is answered `already_recorded` and writes nothing.
#[derive(Clone, Deserialize)]
pub struct ScanInput {
    pub scan_id: String,
    pub tube: String,
    #[serde(default)]
    pub action: ScanAction,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub id_type: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub name: String,
    /// When the scan was made (unix seconds); a queued scan keeps its own time.
    #[serde(default)]
    pub scanned_at: Option<i64>,
}

impl std::fmt::Debug for ScanInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanInput")
            .field("scan_id", &self.scan_id)
            .field("tube", &self.tube)
            .finish_non_exhaustive()
    }
}

/// The answer to one scan: what the page shows (green or red) and says.
#[derive(Debug, Clone, Serialize)]
pub struct ScanResult {
    pub scan_id: String,
    pub ok: bool,
    /// bound | closed | already_recorded | rejected
    pub outcome: &'static str,
    /// For rejections: a stable code (malformed_barcode, bad_document, unknown_tube, tube_full, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tube_members: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    pub tube_closed: bool,
    /// Allowed but worth a look: outside_area, not_in_register.
    pub flags: Vec<&'static str>,
}

impl ScanResult {
    fn rejected(scan_id: &str, code: &'static str, message: String) -> ScanResult {
        ScanResult {
            scan_id: scan_id.to_string(),
            ok: false,
            outcome: "rejected",
            code: Some(code),
            message,
            tube_members: None,
            capacity: None,
            tube_closed: false,
            flags: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MissingView {
    pub resident_id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub age: i64,
    pub phone_masked: String,
    pub address: String,
    pub household_number: String,
    pub exemption: Option<ExemptionKind>,
    pub exemption_label: String,
    pub exemption_note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridCoverage {
    pub round: RoundView,
    pub grid_code: String,
    pub grid_name: String,
    pub line: CoverageLine,
    /// Not yet swabbed and not exempt: the door-to-door list.
    pub missing: Vec<MissingView>,
    /// Exempt: bedridden people are door-to-door sampling tasks, people away have proof.
    pub exempted: Vec<MissingView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecheckView {
    pub id: i64,
    pub round_id: Option<i64>,
    pub source: String,
    pub reason_label: &'static str,
    pub name: String,
    pub id_number_masked: String,
    pub resident_id: Option<i64>,
    pub grid_code: String,
    pub created_at: i64,
    pub status: String,
    pub status_label: &'static str,
    pub sample_tube: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonResultView {
    pub round_name: String,
    pub sampled_at: i64,
    pub kind_label: String,
    pub tube_barcode: String,
    pub result: Option<TestResult>,
    pub result_label: &'static str,
    pub tested_at: Option<i64>,
    pub lab_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MyResults {
    pub name: String,
    pub id_number_masked: String,
    pub results: Vec<PersonResultView>,
    pub antigen: Vec<AntigenReportRecord>,
    /// "under control" while a recheck is owed.
    pub pending_rechecks: i64,
    /// The personal sampling code (个人采样码) the page shows as a QR code.
    pub sampling_code: String,
    pub events: Vec<PersonEventRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverdueView {
    pub resident_id: i64,
    pub name: String,
    pub id_number_masked: String,
    pub grid_code: String,
    pub last_sampled_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyGroupOverdue {
    pub schedule: &'static str,
    pub group: KeyGroup,
    pub group_label: &'static str,
    pub interval_hours: i64,
    pub interval_label: String,
    pub people: Vec<OverdueView>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AntigenForm {
    /// Empty for a resident reporting for themself.
    #[serde(default)]
    pub resident_id: String,
    pub result: String,
    /// 'YYYY-MM-DDTHH:MM' (Beijing) or empty for now.
    #[serde(default)]
    pub tested_at: String,
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A stored serial as the barcode a page shows; a value outside the barcode range (written before
/// the range was checked, or by hand) shows as words instead of taking the page down.
fn stored_barcode(serial: i64) -> String {
    barcode_of_stored_serial(serial)
        .map(|code| code.to_string())
        .unwrap_or_else(|_| format!("序号{serial}（超出条码范围，请联系系统管理员）"))
}

fn parse_count(
    raw: &str,
    label: &str,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> AppResult<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    match raw.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(AppError::Invalid(format!(
            "“{label}”应为{}到{}之间的整数，而不是“{raw}”",
            range.start(),
            range.end()
        ))),
    }
}

fn result_label(result: Option<TestResult>) -> &'static str {
    match result {
        None => "待出结果",
        Some(r) => r.label_zh(),
    }
}

fn reason_label(reason: &str) -> &'static str {
    match reason {
        "pool_positive" => "混采阳性复核",
        "invalid" => "结果无效重采",
        "antigen_positive" => "抗原阳性核酸复核",
        _ => "复核",
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待复采",
        "sampled" => "已复采待结果",
        "negative" => "复核阴性（已解除）",
        "positive" => "复核阳性",
        "invalid" => "复采无效",
        _ => "未知",
    }
}

fn recheck_view(task: RecheckTaskRecord) -> RecheckView {
    RecheckView {
        reason_label: reason_label(&task.reason),
        status_label: status_label(&task.status),
        id_number_masked: mask_document(&task.id_type, &task.id_number),
        id: task.id,
        round_id: task.round_id,
        source: task.source,
        name: task.name,
        resident_id: task.resident_id,
        grid_code: task.grid_code,
        created_at: task.created_at,
        status: task.status,
        sample_tube: task.sample_tube,
    }
}

fn person_result_view(r: PersonResult) -> PersonResultView {
    let result = r.result.as_deref().and_then(TestResult::from_code);
    let kind_label = if r.purpose == "recheck" {
        "单管复采".to_string()
    } else {
        PoolSize::new(r.capacity)
            .map(|p| p.label_zh())
            .unwrap_or_else(|_| format!("{}混1", r.capacity))
    };
    PersonResultView {
        round_name: r.round_name,
        sampled_at: r.sampled_at,
        kind_label,
        tube_barcode: r.tube_barcode,
        result,
        result_label: result_label(result),
        tested_at: r.tested_at,
        lab_name: r.lab_name.unwrap_or_default(),
    }
}

const SAMPLING_SECRET_KEY: &str = "sampling_code_secret";

/// The tag of a resident's sampling code: HMAC-SHA256 over the id with the installation's secret.
fn sampling_tag(secret: &[u8], resident_id: i64) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("FKS1:{resident_id}").as_bytes());
    let digest = mac.finalize().into_bytes();
    hex::encode(&digest[..SAMPLING_CODE_TAG_BYTES])
}

const SAMPLING_CODE_TAG_BYTES: usize = fangkong_domain::mass_testing::SAMPLING_CODE_TAG_LEN / 2;

/// The Beijing day number of a unix time: routine testing counts at most one swab a day.
fn beijing_day(unix: i64) -> i64 {
    (unix + 8 * 3600).div_euclid(86_400)
}

fn scan_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
}

/// Parses `<code> <tier> [pool]` lines of designated areas.
fn parse_areas(
    text: &str,
    round_region: &RegionCode,
) -> AppResult<Vec<(RegionCode, RiskTier, PoolSize)>> {
    let mut areas = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
            .filter(|p| !p.is_empty())
            .collect();
        let at = || format!("风险区域第{}行“{line}”", index + 1);
        let Some(first) = parts.first() else {
            continue; // a line of separators only
        };
        let code =
            RegionCode::parse(first).map_err(|e| AppError::Invalid(format!("{}：{e}", at())))?;
        if !round_region.contains(&code) {
            return Err(AppError::Invalid(format!(
                "{}：该区域不在本轮检测范围内",
                at()
            )));
        }
        let tier = parts
            .get(1)
            .and_then(|t| match *t {
                "high" | "高" | "高风险" | "封控" | "封控区" => Some(RiskTier::High),
                "medium" | "中" | "中风险" | "管控" | "管控区" => Some(RiskTier::Medium),
                "low" | "低" | "低风险" | "防范" | "防范区" => Some(RiskTier::Low),
                _ => None,
            })
            .ok_or_else(|| AppError::Invalid(format!("{}：风险等级应写“高/中/低”", at())))?;
        let pool = match parts.get(2) {
            Some(p) => PoolSize::new(p.parse::<i64>().unwrap_or(-1))
                .map_err(|e| AppError::Invalid(format!("{}：{e}", at())))?,
            None => tier.default_pool_size(),
        };
        areas.push((code, tier, pool));
    }
    Ok(areas)
}

/// The pool size a new screening tube gets at a site: the most specific designated area that
/// holds the site, else the round's default.
fn pool_size_at(round: &RoundRecord, areas: &[RoundAreaRecord], site_region: &str) -> i64 {
    areas
        .iter()
        .filter(|a| site_region.starts_with(&a.region_code))
        .max_by_key(|a| a.region_code.len())
        .map_or(round.default_pool_size, |a| a.pool_size)
}

/// The region a list is asked for (the whole jurisdiction when none is given), checked to lie inside it.
fn region_in_jurisdiction(actor: &Actor, region_code: &str) -> AppResult<RegionCode> {
    let code = if region_code.trim().is_empty() {
        actor.jurisdiction.clone()
    } else {
        parse_region_code(region_code)?
    };
    actor.require_within(&code)?;
    Ok(code)
}

pub(crate) fn format_time(unix: i64) -> String {
    china_offset()
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

impl App {
    /// The installation's secret for sampling codes, made on first use and kept in the database
    /// (every server process of one installation must agree on it).
    async fn sampling_secret(&self) -> AppResult<Vec<u8>> {
        let stored = match self.store.setting(SAMPLING_SECRET_KEY).await? {
            Some(value) => value,
            None => {
                use rand::RngCore;
                let mut fresh = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut fresh);
                self.store
                    .setting_or_insert(SAMPLING_SECRET_KEY, &hex::encode(fresh))
                    .await?
            }
        };
        hex::decode(stored).map_err(|e| AppError::Internal(format!("sampling secret: {e}")))
    }

    /// The person a scanned sampling code stands for, or why it is refused.
    async fn person_of_sampling_code(
        &self,
        raw: &str,
        secret: &[u8],
    ) -> AppResult<Result<ScannedPerson, String>> {
        let code = match SamplingCode::parse(raw) {
            Ok(code) => code,
            Err(message) => return Ok(Err(message)),
        };
        if sampling_tag(secret, code.resident_id) != code.tag {
            return Ok(Err(
                "个人采样码校验不通过（可能是伪造或改动过的码），请改用身份证".into(),
            ));
        }
        Ok(match self.store.resident(code.resident_id).await? {
            Some(r) => Ok(ScannedPerson {
                id_type: r.id_type,
                id_number: r.id_number,
                name: String::new(),
            }),
            None => Err("个人采样码对应的居民已不在登记中，请改用身份证".into()),
        })
    }

    async fn round_record(&self, round_id: i64) -> AppResult<RoundRecord> {
        self.store
            .round(round_id)
            .await?
            .ok_or(AppError::NotFound("该检测轮次"))
    }

    async fn round_view(&self, round: RoundRecord) -> AppResult<RoundView> {
        let region = RegionCode::parse(&round.region_code).map_err(AppError::Internal)?;
        let areas = self.store.round_areas(round.id).await?;
        let tube_ranges = self
            .store
            .tube_batches(round.id)
            .await?
            .into_iter()
            .map(|b| {
                (
                    stored_barcode(b.first_serial),
                    stored_barcode(b.last_serial),
                )
            })
            .collect();
        let kind = RoundKind::from_code(&round.kind).unwrap_or(RoundKind::Whole);
        Ok(RoundView {
            id: round.id,
            kind,
            kind_label: kind.label_zh(),
            region_name: self.region_name(&region).await?,
            region_code: round.region_code,
            name: round.name,
            opened_at: round.opened_at,
            deadline_at: round.deadline_at,
            closed_at: round.closed_at,
            default_pool_size: round.default_pool_size,
            pool_label: PoolSize::new(round.default_pool_size)
                .map(|p| p.label_zh())
                .unwrap_or_default(),
            infant_months: round.infant_months,
            target_population: round.target_population,
            opened_by: round.opened_by,
            areas,
            tube_ranges,
        })
    }

    /// A round the actor may change (tubes, closing): its region lies inside the actor's
    /// jurisdiction. A township sees the county's round but does not run it.
    async fn managed_round(&self, actor: &Actor, round_id: i64) -> AppResult<RoundRecord> {
        let round = self.visible_round(actor, round_id).await?;
        let region = RegionCode::parse(&round.region_code).map_err(AppError::Internal)?;
        if !actor.jurisdiction.contains(&region) {
            return Err(AppError::Invalid(
                "本轮由上级组织，只有组织本轮的单位才能下发试管或结束本轮".into(),
            ));
        }
        Ok(round)
    }

    /// A round the actor may see: its region overlaps the actor's jurisdiction.
    async fn visible_round(&self, actor: &Actor, round_id: i64) -> AppResult<RoundRecord> {
        let round = self.round_record(round_id).await?;
        let region = RegionCode::parse(&round.region_code).map_err(AppError::Internal)?;
        if !(actor.jurisdiction.contains(&region) || region.contains(&actor.jurisdiction)) {
            return Err(AppError::NotFound("该检测轮次"));
        }
        Ok(round)
    }

    fn infant_cutoff_of(&self, round: &RoundRecord) -> Option<String> {
        let opened = china_offset()
            .timestamp_opt(round.opened_at, 0)
            .single()
            .map(|t| t.date_naive())?;
        infant_cutoff(opened, round.infant_months).map(|d| d.format("%Y-%m-%d").to_string())
    }

    /// Opens a round over a region in the commander's jurisdiction and issues its tube barcodes.
    pub async fn open_round(&self, actor: &Actor, form: &RoundForm) -> AppResult<i64> {
        actor.require(Permission::ManageTestingRounds)?;
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid(
                "请填写轮次名称（60字以内），例如“第3轮全员核酸检测”".into(),
            ));
        }
        let kind = RoundKind::from_code(form.kind.trim())
            .ok_or_else(|| AppError::Invalid("请选择检测类型：全员、区域或常态化".into()))?;
        let region = parse_region_code(&form.region_code)?;
        if region.level() == RegionLevel::Grid && kind == RoundKind::Whole {
            return Err(AppError::Invalid(
                "全员检测的范围应是县、乡镇或村/社区，而不是单个网格".into(),
            ));
        }
        actor.require_within(&region)?;
        self.store
            .region(region.as_str())
            .await?
            .ok_or(AppError::NotFound("该区划"))?;
        let pool = PoolSize::new(parse_count(&form.pool_size, "混采人数", 1..=20, 10)?)
            .map_err(AppError::Invalid)?;
        let infant_months = parse_count(&form.infant_months, "免采婴幼儿月龄", 0..=72, 0)?;
        let mut areas = parse_areas(&form.areas, &region)?;
        let (lower, upper) = region.subtree_range();
        if form.areas.trim().is_empty() {
            // No areas typed: the risk areas in force pick the pool sizes (high → single tube).
            areas = self.round_areas_from_risk_areas((&lower, &upper)).await?;
        }
        let population = self
            .store
            .subtree_counts(region.as_str(), (&lower, &upper))
            .await?
            .residents;
        let policy_hours = DEADLINES_3RD_EDITION.hours_for(kind, population);
        let deadline_hours = if form.deadline_hours.trim().is_empty() {
            policy_hours
        } else {
            Some(parse_count(
                &form.deadline_hours,
                "完成时限（小时）",
                1..=240,
                48,
            )?)
        };
        // Everything is checked before anything is written: a bad tube count never leaves a round
        // behind. At opening the round's own ceiling applies, not the per-request one (a province's
        // round needs millions of tubes at once); the register's count bounds the round's target.
        let tubes = parse_count(&form.tubes, "下发试管数", 0..=50_000_000, 0)?;
        let tubes = if tubes == 0 {
            // Enough for everyone at the default pool size plus a fifth for single tubes and spares.
            (population / pool.get() + 1) * 6 / 5 + 100
        } else {
            tubes
        };
        check_tube_count(0, tubes, population)?;
        self.check_barcode_range(tubes).await?;
        let now = self.now_unix();
        let today = self.today();
        let id = self
            .store
            .insert_round(&NewRound {
                name: name.to_string(),
                kind: kind.code().to_string(),
                region_code: region.as_str().to_string(),
                region_range: (lower, upper),
                opened_at: now,
                deadline_at: deadline_hours.map(|h| now + h * 3600),
                default_pool_size: pool.get(),
                infant_months,
                infant_cutoff: infant_cutoff(today, infant_months)
                    .map(|d| d.format("%Y-%m-%d").to_string()),
                opened_by: actor.display_name.clone(),
                areas: areas
                    .iter()
                    .map(|(code, tier, pool)| RoundAreaRecord {
                        round_id: 0,
                        region_code: code.as_str().to_string(),
                        tier: tier.code().to_string(),
                        pool_size: pool.get(),
                    })
                    .collect(),
            })
            .await?;
        let mut round = self.round_record(id).await?;
        round.target_population = round.target_population.max(population);
        self.issue_tube_batch(actor, &round, tubes).await?;
        audit_by(
            self,
            actor,
            "create",
            &format!("test_round:{id}"),
            &format!("region:{}", region.as_str()),
        )
        .await?;
        Ok(id)
    }

    /// Issues `count` new tube barcodes to a round; returns the first and last barcode.
    pub async fn issue_tubes(
        &self,
        actor: &Actor,
        round_id: i64,
        count: i64,
    ) -> AppResult<(String, String)> {
        actor.require(Permission::ManageTestingRounds)?;
        let round = self.managed_round(actor, round_id).await?;
        if !(1..=MAX_TUBES_PER_REQUEST).contains(&count) {
            return Err(AppError::Invalid(format!(
                "一次下发试管数应在1到{MAX_TUBES_PER_REQUEST}支之间（您填的是{count}）；需要更多请分几次下发"
            )));
        }
        self.issue_tube_batch(actor, &round, count).await
    }

    /// Fails when `count` more tubes from the next free serial would pass the 12-digit barcode range.
    async fn check_barcode_range(&self, count: i64) -> AppResult<()> {
        let first = self.store.next_free_serial().await?;
        let last = first.saturating_add(count.max(1) - 1);
        if barcode_of_stored_serial(first).is_err() || barcode_of_stored_serial(last).is_err() {
            return Err(AppError::Conflict(format!(
                "试管条码号段已用完：下一个序号是{first}，12位条码最多到{MAX_TUBE_SERIAL}；\
                 请联系系统管理员"
            )));
        }
        Ok(())
    }

    /// Issues `count` tubes to `round` after checking the round's ceiling and the barcode range,
    /// before anything is written.
    async fn issue_tube_batch(
        &self,
        actor: &Actor,
        round: &RoundRecord,
        count: i64,
    ) -> AppResult<(String, String)> {
        if round.closed_at.is_some() {
            return Err(AppError::Conflict("本轮已结束，不能再下发试管".into()));
        }
        if count < 1 {
            return Err(AppError::Invalid("下发试管数至少为1".into()));
        }
        let issued: i64 = self
            .store
            .tube_batches(round.id)
            .await?
            .iter()
            .map(|b| (b.last_serial - b.first_serial).saturating_add(1).max(0))
            .fold(0_i64, i64::saturating_add);
        check_tube_count(issued, count, round.target_population)?;
        for _ in 0..3 {
            let first = self.store.next_free_serial().await?;
            let last = first.saturating_add(count - 1);
            let (Ok(first_code), Ok(last_code)) = (
                barcode_of_stored_serial(first),
                barcode_of_stored_serial(last),
            ) else {
                return Err(AppError::Conflict(format!(
                    "试管条码号段已用完：下一个序号是{first}，12位条码最多到{MAX_TUBE_SERIAL}；\
                     请联系系统管理员"
                )));
            };
            if self
                .store
                .issue_tube_batch(round.id, first, last, self.now_unix(), &actor.display_name)
                .await?
            {
                return Ok((first_code.to_string(), last_code.to_string()));
            }
        }
        Err(AppError::Conflict(
            "其他人正在同时下发试管，请稍后重试".into(),
        ))
    }

    pub async fn close_round(&self, actor: &Actor, round_id: i64) -> AppResult<()> {
        actor.require(Permission::ManageTestingRounds)?;
        self.managed_round(actor, round_id).await?;
        if !self.store.close_round(round_id, self.now_unix()).await? {
            return Err(AppError::Conflict("本轮已经结束".into()));
        }
        audit_by(
            self,
            actor,
            "update",
            &format!("test_round:{round_id}"),
            "closed",
        )
        .await
    }

    /// Rounds over the actor's jurisdiction (inside it, or containing it), newest first.
    pub async fn rounds(&self, actor: &Actor) -> AppResult<Vec<RoundView>> {
        actor.require(Permission::ViewPopulation)?;
        let (lower, upper) = actor.jurisdiction_range();
        let mut views = Vec::new();
        for round in self
            .store
            .rounds_touching(actor.jurisdiction.as_str(), (&lower, &upper))
            .await?
        {
            views.push(self.round_view(round).await?);
        }
        Ok(views)
    }

    pub async fn round(&self, actor: &Actor, round_id: i64) -> AppResult<RoundView> {
        actor.require(Permission::ViewPopulation)?;
        let round = self.visible_round(actor, round_id).await?;
        self.round_view(round).await
    }

    /// The round's command view for one region: coverage per child, the chain of custody, delays,
    /// rechecks and positives, swabs per hour.
    pub async fn round_overview(
        &self,
        actor: &Actor,
        round_id: i64,
        region_code: &str,
    ) -> AppResult<RoundOverview> {
        actor.require(Permission::ViewPopulation)?;
        let round = self.visible_round(actor, round_id).await?;
        let round_region = RegionCode::parse(&round.region_code).map_err(AppError::Internal)?;
        let code = if region_code.trim().is_empty() {
            if actor.jurisdiction.contains(&round_region) {
                round_region.clone()
            } else {
                actor.jurisdiction.clone()
            }
        } else {
            parse_region_code(region_code)?
        };
        actor.require_within(&code)?;
        let (lower, upper) = code.subtree_range();
        let rows = self
            .store
            .round_progress(round_id, (&lower, &upper))
            .await?;
        let mut totals = CoverageLine {
            code: code.as_str().to_string(),
            name: String::new(),
            target: 0,
            exempt: 0,
            sampled: 0,
            outside: 0,
            walk_ins: 0,
            per_mille: 0,
        };
        let mut children = Vec::new();
        if let Some(child_level) = code.level().child() {
            let len = child_level.code_len();
            let mut by_child: HashMap<String, CoverageLine> = self
                .store
                .region_children(code.as_str())
                .await?
                .into_iter()
                .map(|r| {
                    (
                        r.code.clone(),
                        CoverageLine {
                            code: r.code,
                            name: r.name,
                            target: 0,
                            exempt: 0,
                            sampled: 0,
                            outside: 0,
                            walk_ins: 0,
                            per_mille: 0,
                        },
                    )
                })
                .collect();
            for row in &rows {
                totals.add(row);
                if let Some(line) = row
                    .grid_code
                    .get(..len)
                    .and_then(|prefix| by_child.get_mut(prefix))
                {
                    line.add(row);
                }
            }
            children = by_child
                .into_values()
                .filter(|c| c.target > 0 || c.sampled > 0 || c.walk_ins > 0)
                .collect();
            for child in &mut children {
                child.finish();
            }
            // Worst coverage first: that is where the command office sends help.
            children.sort_by(|a, b| a.per_mille.cmp(&b.per_mille).then(a.code.cmp(&b.code)));
        } else {
            for row in &rows {
                totals.add(row);
            }
        }
        totals.finish();
        totals.name = self.region_name(&code).await?;
        let now = self.now_unix();
        let chain = self.store.tube_chain_counts(round_id).await?;
        let counts = self
            .store
            .awaiting_result_counts(round_id, ResultDelay::ALL.map(|d| now - d.hours() * 3600))
            .await?;
        let delays = ResultDelay::ALL
            .iter()
            .zip(counts)
            .map(|(d, n)| (d.label_zh(), n))
            .collect();
        let boxes_in_transit = self.store.boxes_in_transit(round_id).await?;
        let boxes_late = boxes_in_transit
            .iter()
            .filter(|b| now - b.packed_at > BOX_LATE_AFTER_SECONDS)
            .count() as i64;
        let rechecks = self.store.recheck_counts((&lower, &upper)).await?;
        let rechecks_pending = rechecks
            .iter()
            .filter(|(s, _)| s == "pending" || s == "sampled")
            .map(|(_, n)| n)
            .sum();
        let single_positives = self
            .store
            .count_person_events("single_positive", (&lower, &upper))
            .await?;
        let hourly = self.store.round_hourly(round_id, (&lower, &upper)).await?;
        let sites = self
            .store
            .sites_of_round(round_id, (&lower, &upper))
            .await?;
        let tables: i64 = sites.iter().map(|s| s.tables_count).sum();
        let rate: i64 = sites
            .iter()
            .map(|s| s.tables_count * s.swabs_per_table_hour)
            .sum();
        let hours_to_finish = (rate > 0).then(|| totals.missing() as f64 / rate as f64);
        Ok(RoundOverview {
            region_level: code.level(),
            region_name: totals.name.clone(),
            region_code: code.as_str().to_string(),
            round: self.round_view(round).await?,
            totals,
            children,
            chain,
            delays,
            boxes_in_transit,
            boxes_late,
            rechecks,
            rechecks_pending,
            single_positives,
            hourly,
            sites: sites.len() as i64,
            tables,
            hours_to_finish,
        })
    }

    /// The planner for a region of a round: per child, population (the round's target), the
    /// suggested sites and tables, and what the sites set up so far give.
    pub async fn site_plan(
        &self,
        actor: &Actor,
        round_id: i64,
        region_code: &str,
        norms: PlannerNorms,
    ) -> AppResult<Vec<PlanLine>> {
        actor.require(Permission::ViewPopulation)?;
        norms.check().map_err(AppError::Invalid)?;
        let overview = self.round_overview(actor, round_id, region_code).await?;
        let code = parse_region_code(&overview.region_code)?;
        let (lower, upper) = code.subtree_range();
        let sites = self
            .store
            .sites_of_round(round_id, (&lower, &upper))
            .await?;
        let mut lines: Vec<PlanLine> = overview
            .children
            .iter()
            .map(|child| {
                let here: Vec<&SiteRecord> = sites
                    .iter()
                    .filter(|s| s.region_code.starts_with(&child.code))
                    .collect();
                let tables_now: i64 = here.iter().map(|s| s.tables_count).sum();
                let rate: i64 = here
                    .iter()
                    .map(|s| s.tables_count * s.swabs_per_table_hour)
                    .sum();
                let due = (child.target - child.exempt).max(0);
                PlanLine {
                    code: child.code.clone(),
                    name: child.name.clone(),
                    population: due,
                    plan: norms.plan(due),
                    sites_now: here.len() as i64,
                    tables_now,
                    hours_now: (rate > 0).then(|| hours_to_sample(due, 1, rate)),
                }
            })
            .collect();
        lines.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(lines)
    }

    pub async fn create_site(
        &self,
        actor: &Actor,
        round_id: i64,
        form: &SiteForm,
    ) -> AppResult<i64> {
        actor.require(Permission::ManageTestingRounds)?;
        let round = self.visible_round(actor, round_id).await?;
        if round.closed_at.is_some() {
            return Err(AppError::Conflict("本轮已结束，不能再设采样点".into()));
        }
        let region = parse_region_code(&form.region_code)?;
        actor.require_within(&region)?;
        let round_region = RegionCode::parse(&round.region_code).map_err(AppError::Internal)?;
        if !round_region.contains(&region) {
            return Err(AppError::Invalid("采样点所在区域不在本轮检测范围内".into()));
        }
        if region.level() < RegionLevel::Village {
            return Err(AppError::Invalid(
                "采样点应设在村/社区或网格（12位或15位编码）".into(),
            ));
        }
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(AppError::Invalid("请填写采样点名称（60字以内）".into()));
        }
        let site = SiteRecord {
            id: 0,
            round_id,
            region_code: region.as_str().to_string(),
            name: name.to_string(),
            address: form.address.trim().chars().take(100).collect(),
            tables_count: parse_count(&form.tables, "采样台数", 1..=50, 1)?,
            staff_count: parse_count(&form.staff, "工作人员数", 0..=500, 0)?,
            swabs_per_table_hour: parse_count(
                &form.swabs_per_table_hour,
                "每台每小时采样人数",
                10..=300,
                NHC_2022_NORMS.swabs_per_table_hour,
            )?,
            created_at: self.now_unix(),
        };
        let id = self.store.insert_site(&site).await?;
        audit_by(
            self,
            actor,
            "create",
            &format!("sampling_site:{id}"),
            &format!("test_round:{round_id}"),
        )
        .await?;
        Ok(id)
    }

    pub async fn sampling_site(&self, actor: &Actor, site_id: i64) -> AppResult<SiteRecord> {
        actor.require(Permission::ViewPopulation)?;
        let site = load_within(actor, self.store.site(site_id)).await?;
        Ok(site)
    }

    /// The pool size a new screening tube gets at this site (the binding page shows it before the
    /// first swab; recheck tubes always hold one).
    pub async fn site_pool_size(&self, actor: &Actor, site_id: i64) -> AppResult<i64> {
        let site = self.sampling_site(actor, site_id).await?;
        let round = self.round_record(site.round_id).await?;
        let areas = self.store.round_areas(round.id).await?;
        Ok(pool_size_at(&round, &areas, &site.region_code))
    }

    pub async fn sites(&self, actor: &Actor, round_id: i64) -> AppResult<Vec<SiteRecord>> {
        actor.require(Permission::ViewPopulation)?;
        self.visible_round(actor, round_id).await?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self
            .store
            .sites_of_round(round_id, (&lower, &upper))
            .await?)
    }

    /// Binds scans from one sampling table. Every scan gets its own answer; bad scans never stop
    /// the good ones; the answer comes only after the good ones are on disk.
    pub async fn submit_scans(
        &self,
        actor: &Actor,
        batch: &SamplingBatch,
    ) -> AppResult<Vec<ScanResult>> {
        actor.require(Permission::SampleSpecimens)?;
        if batch.scans.len() > MAX_SCANS_PER_BATCH {
            return Err(AppError::Invalid(format!(
                "一次最多上传{MAX_SCANS_PER_BATCH}条扫码记录，本次{}条；请分批上传",
                batch.scans.len()
            )));
        }
        let round = self.round_record(batch.round_id).await?;
        if round.closed_at.is_some() {
            return Err(AppError::Conflict(
                "本轮检测已结束，不能再绑定；请确认选择的轮次".into(),
            ));
        }
        let site = load_within(actor, self.store.site(batch.site_id)).await?;
        if site.round_id != round.id {
            return Err(AppError::Invalid("该采样点不属于这一轮检测".into()));
        }
        if !(1..=site.tables_count).contains(&batch.table_no) {
            return Err(AppError::Invalid(format!(
                "采样台号应在1到{}之间",
                site.tables_count
            )));
        }
        let areas = self.store.round_areas(round.id).await?;
        let capacity = pool_size_at(&round, &areas, &site.region_code);
        let kind = RoundKind::from_code(&round.kind).unwrap_or(RoundKind::Whole);
        let round_range = RegionCode::parse(&round.region_code)
            .map_err(AppError::Internal)?
            .subtree_range();
        let now = self.now_unix();

        let mut results: Vec<Option<ScanResult>> = vec![None; batch.scans.len()];
        let mut secret: Option<Vec<u8>> = None;
        let mut writes = Vec::with_capacity(batch.scans.len());
        let mut positions = Vec::with_capacity(batch.scans.len());
        for (index, scan) in batch.scans.iter().enumerate() {
            if !scan_id_ok(&scan.scan_id) {
                results[index] = Some(ScanResult::rejected(
                    &scan.scan_id,
                    "bad_scan_id",
                    "扫码记录编号无效（应为1到64位字母、数字或-_:.）；请刷新采样页面".into(),
                ));
                continue;
            }
            let tube = match TubeBarcode::parse(&scan.tube) {
                Ok(tube) => tube,
                Err(message) => {
                    results[index] = Some(ScanResult::rejected(
                        &scan.scan_id,
                        "malformed_barcode",
                        message,
                    ));
                    continue;
                }
            };
            let purpose = match scan.purpose.as_deref().map(str::trim) {
                None | Some("") => SamplePurpose::Screen,
                Some(code) => match SamplePurpose::from_code(code) {
                    Some(p) => p,
                    None => {
                        results[index] = Some(ScanResult::rejected(
                            &scan.scan_id,
                            "bad_purpose",
                            "采样类型只能是“筛查”或“单管复采”".into(),
                        ));
                        continue;
                    }
                },
            };
            let person = match scan.action {
                ScanAction::Close => None,
                ScanAction::Bind if SamplingCode::looks_like(&scan.id_number) => {
                    let secret = match &secret {
                        Some(s) => s,
                        None => secret.insert(self.sampling_secret().await?),
                    };
                    match self
                        .person_of_sampling_code(&scan.id_number, secret)
                        .await?
                    {
                        Ok(person) => Some(person),
                        Err(message) => {
                            results[index] = Some(ScanResult::rejected(
                                &scan.scan_id,
                                "bad_sampling_code",
                                message,
                            ));
                            continue;
                        }
                    }
                }
                ScanAction::Bind => {
                    let document = IdType::parse(&scan.id_type)
                        .and_then(|t| IdDocument::parse(t, &scan.id_number));
                    match document {
                        Ok(doc) => Some(ScannedPerson {
                            id_type: doc.id_type().code().to_string(),
                            id_number: doc.number().to_string(),
                            // Card readers pad names with NULs and other control characters.
                            name: scan
                                .name
                                .chars()
                                .filter(|c| !c.is_control())
                                .collect::<String>()
                                .trim()
                                .chars()
                                .take(30)
                                .collect(),
                        }),
                        Err(message) => {
                            results[index] = Some(ScanResult::rejected(
                                &scan.scan_id,
                                "bad_document",
                                format!("{message}；请重新刷证或核对号码"),
                            ));
                            continue;
                        }
                    }
                }
            };
            let sampled_at = scan
                .scanned_at
                .filter(|t| *t <= now + 300 && *t >= now - 7 * 86_400)
                .unwrap_or(now);
            writes.push(ScanWrite {
                scan_id: scan.scan_id.clone(),
                round_id: round.id,
                round_range: round_range.clone(),
                screen_occasion: if kind == RoundKind::Routine {
                    beijing_day(sampled_at)
                } else {
                    0
                },
                site_id: site.id,
                site_region: site.region_code.clone(),
                table_no: batch.table_no,
                tube,
                new_tube_capacity: capacity,
                purpose,
                person,
                sampled_at,
                recorder: actor.display_name.clone(),
            });
            positions.push(index);
        }

        if !writes.is_empty() {
            let (reply, answer) = oneshot::channel();
            let sender = self.scan_writer.sender(&self.store, &self.clock).await;
            sender
                .send(ScanJob {
                    scans: writes,
                    reply,
                })
                .await
                .map_err(|_| AppError::Internal("scan writer stopped".into()))?;
            let outcomes = answer
                .await
                .map_err(|_| AppError::Internal("scan writer dropped a reply".into()))?
                .map_err(AppError::Internal)?;
            for (index, outcome) in positions.into_iter().zip(outcomes) {
                let scan_id = &batch.scans[index].scan_id;
                results[index] = Some(match outcome {
                    ScanOutcome::Bound {
                        tube_members,
                        capacity,
                        tube_closed,
                        outside_area,
                        in_register,
                    } => {
                        let mut flags = Vec::new();
                        let mut message = format!("已绑定，第{tube_members}/{capacity}人");
                        if tube_closed {
                            message.push_str("，试管已满并自动封管，请换新管");
                        }
                        if outside_area {
                            flags.push("outside_area");
                            message.push_str("；注意：此人不住在本轮检测范围内");
                        }
                        if !in_register {
                            flags.push("not_in_register");
                            message.push_str("；注意：此人不在实有人口登记中，请告知网格员核实");
                        }
                        ScanResult {
                            scan_id: scan_id.clone(),
                            ok: true,
                            outcome: "bound",
                            code: None,
                            message,
                            tube_members: Some(tube_members),
                            capacity: Some(capacity),
                            tube_closed,
                            flags,
                        }
                    }
                    ScanOutcome::Closed { tube_members } => ScanResult {
                        scan_id: scan_id.clone(),
                        ok: true,
                        outcome: "closed",
                        code: None,
                        message: format!("已封管（{tube_members}人）"),
                        tube_members: Some(tube_members),
                        capacity: None,
                        tube_closed: true,
                        flags: Vec::new(),
                    },
                    ScanOutcome::AlreadyRecorded => ScanResult {
                        scan_id: scan_id.clone(),
                        ok: true,
                        outcome: "already_recorded",
                        code: None,
                        message: "这条扫码已上传过，无需重复".into(),
                        tube_members: None,
                        capacity: None,
                        tube_closed: false,
                        flags: Vec::new(),
                    },
                    ScanOutcome::Rejected(rejection) => ScanResult::rejected(
                        scan_id,
                        rejection.code(),
                        rejection.message_zh(format_time),
                    ),
                });
            }
        }
        // The writer answers every scan it was handed; should it ever answer fewer, the request
        // fails with a retryable error (the scans are idempotent by scan_id) instead of a panic.
        results
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| AppError::Internal("scan writer answered fewer scans".into()))
    }

    /// Packs closed tubes into a box at the site (装箱). Returns a line per tube that was not packed.
    pub async fn pack_box(
        &self,
        actor: &Actor,
        site_id: i64,
        box_barcode: &str,
        tubes: &[String],
    ) -> AppResult<Vec<String>> {
        actor.require(Permission::SampleSpecimens)?;
        let site = self.sampling_site(actor, site_id).await?;
        let box_code = parse_box_barcode(box_barcode).map_err(AppError::Invalid)?;
        if tubes.is_empty() || tubes.len() > 1000 {
            return Err(AppError::Invalid(
                "请扫描要装箱的试管（每箱1到1000支）".into(),
            ));
        }
        let mut problems = Vec::new();
        let mut codes = Vec::new();
        for raw in tubes {
            match TubeBarcode::parse(raw) {
                Ok(code) => codes.push(code.to_string()),
                Err(message) => problems.push(message),
            }
        }
        let verdicts = self
            .store
            .pack_box(
                &box_code,
                site.round_id,
                site.id,
                &codes,
                self.now_unix(),
                &actor.display_name,
            )
            .await?
            .map_err(|reason| match reason {
                "box_gone" => {
                    AppError::Conflict(format!("转运箱{box_code}已被取走，不能再装；请换一个箱子"))
                }
                _ => AppError::Conflict(format!("转运箱{box_code}属于其他轮次；请换一个箱子")),
            })?;
        for (code, verdict) in codes.iter().zip(verdicts) {
            if let Some(reason) = verdict {
                problems.push(format!(
                    "试管{code}：{}",
                    match reason {
                        "unknown_tube" => "系统中没有这支试管（还没有绑定任何人）",
                        "tube_of_other_round" => "属于其他轮次",
                        "tube_open" => "还没有封管，请先封管",
                        _ => "已装在其他转运箱",
                    }
                ));
            }
        }
        audit_by(
            self,
            actor,
            "create",
            &format!("specimen_box:{box_code}"),
            &format!("tubes:{}", codes.len()),
        )
        .await?;
        Ok(problems)
    }

    /// Courier pick-up (揽收) or lab receipt (签收) of a box, by scanning its barcode.
    pub async fn hand_over_box(
        &self,
        actor: &Actor,
        box_barcode: &str,
        receive: bool,
    ) -> AppResult<BoxRecord> {
        actor.require(Permission::HandleSpecimens)?;
        let box_code = parse_box_barcode(box_barcode).map_err(AppError::Invalid)?;
        let found = self
            .store
            .specimen_box(&box_code)
            .await?
            .ok_or(AppError::NotFound("该转运箱（请确认已在采样点装箱）"))?;
        load_within(actor, self.store.site(found.site_id)).await?;
        let now = self.now_unix();
        let changed = if receive {
            if actor.role != Role::Lab
                && actor.role != Role::Commander
                && actor.role != Role::Administrator
            {
                return Err(AppError::Forbidden { role: actor.role });
            }
            self.store
                .box_received(&box_code, &actor.display_name, now)
                .await?
        } else {
            self.store
                .box_picked_up(&box_code, &actor.display_name, now)
                .await?
        };
        if changed {
            audit_by(
                self,
                actor,
                "update",
                &format!("specimen_box:{box_code}"),
                if receive { "received" } else { "picked_up" },
            )
            .await?;
        }
        self.store
            .specimen_box(&box_code)
            .await?
            .ok_or(AppError::NotFound("该转运箱"))
    }

    /// One grid's coverage in a round with the list of residents not yet swabbed.
    pub async fn grid_coverage(
        &self,
        actor: &Actor,
        round_id: i64,
        grid_code: &str,
    ) -> AppResult<GridCoverage> {
        actor.require(Permission::ViewPopulation)?;
        let round = self.visible_round(actor, round_id).await?;
        let grid = parse_region_code(grid_code)?;
        if grid.level() != RegionLevel::Grid {
            return Err(AppError::Invalid(
                "未采样名单按网格查看：请选择一个网格".into(),
            ));
        }
        actor.require_within(&grid)?;
        let (lower, upper) = grid.subtree_range();
        let mut line = CoverageLine {
            code: grid.as_str().to_string(),
            name: self.region_name(&grid).await?,
            target: 0,
            exempt: 0,
            sampled: 0,
            outside: 0,
            walk_ins: 0,
            per_mille: 0,
        };
        for row in self
            .store
            .round_progress(round_id, (&lower, &upper))
            .await?
        {
            line.add(&row);
        }
        line.finish();
        let cutoff = self.infant_cutoff_of(&round);
        let today = self.today();
        let mut missing = Vec::new();
        let mut exempted = Vec::new();
        for r in self
            .store
            .missing_in_grid(round_id, grid.as_str(), cutoff.as_deref())
            .await?
        {
            let exemption = r.exemption.as_deref().and_then(ExemptionKind::from_code);
            let birth = NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d").ok();
            let view = MissingView {
                resident_id: r.id,
                id_number_masked: mask_document(&r.id_type, &r.id_number),
                age: birth.map_or(0, |b| {
                    fangkong_domain::mass_testing::age_in_months(b, today) / 12
                }),
                phone_masked: crate::population::mask_phone(r.phone.as_deref()),
                name: r.name,
                address: r.address,
                household_number: r.household_number,
                exemption,
                exemption_label: exemption
                    .map(|e| e.label_zh().to_string())
                    .unwrap_or_default(),
                exemption_note: r.exemption_note.unwrap_or_default(),
            };
            if exemption.is_some() {
                exempted.push(view);
            } else {
                missing.push(view);
            }
        }
        Ok(GridCoverage {
            grid_name: line.name.clone(),
            grid_code: grid.as_str().to_string(),
            round: self.round_view(round).await?,
            line,
            missing,
            exempted,
        })
    }

    /// Marks a resident exempt in a round (bedridden → door-to-door sampling; away, with proof).
    pub async fn set_exemption(
        &self,
        actor: &Actor,
        round_id: i64,
        resident_id: i64,
        kind: &str,
        note: &str,
    ) -> AppResult<()> {
        actor.require(Permission::SampleSpecimens)?;
        self.visible_round(actor, round_id).await?;
        let kind = ExemptionKind::from_code(kind.trim()).ok_or_else(|| {
            AppError::Invalid("请选择免采原因：卧床（上门采样）或不在本地".into())
        })?;
        let note = note.trim();
        if kind == ExemptionKind::Away && note.is_empty() {
            return Err(AppError::Invalid(
                "不在本地须写明证明（如外地核酸报告、车票、单位证明）".into(),
            ));
        }
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        self.store
            .set_exemption(
                round_id,
                resident_id,
                &resident.grid_code,
                kind.code(),
                &note.chars().take(200).collect::<String>(),
                self.now_unix(),
                &actor.display_name,
            )
            .await?;
        audit_by(
            self,
            actor,
            "update",
            &format!("resident:{resident_id}"),
            &format!("exemption:{}:{round_id}", kind.code()),
        )
        .await
    }

    pub async fn recheck_tasks(
        &self,
        actor: &Actor,
        region_code: &str,
        status: Option<&str>,
    ) -> AppResult<Vec<RecheckView>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .recheck_tasks((&lower, &upper), status.filter(|s| !s.is_empty()), 1000)
            .await?
            .into_iter()
            .map(recheck_view)
            .collect())
    }

    /// Single-tube positives in the region: cases the tracing module opens.
    pub async fn single_positives(
        &self,
        actor: &Actor,
        region_code: &str,
    ) -> AppResult<Vec<(PersonEventRecord, String)>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .person_events("single_positive", (&lower, &upper), 1000)
            .await?
            .into_iter()
            .map(|e| {
                let masked = mask_document(&e.id_type, &e.id_number);
                (e, masked)
            })
            .collect())
    }

    /// A resident's swabs and results, for staff (masked).
    pub async fn resident_results(
        &self,
        actor: &Actor,
        resident_id: i64,
    ) -> AppResult<Vec<PersonResultView>> {
        actor.require(Permission::ViewPopulation)?;
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        Ok(self
            .store
            .person_results(&resident.id_type, &resident.id_number)
            .await?
            .into_iter()
            .map(person_result_view)
            .collect())
    }

    /// A resident's own results (their login is linked to their register entry).
    pub async fn my_results(&self, actor: &Actor) -> AppResult<MyResults> {
        actor.require(Permission::ViewOwnResults)?;
        let resident_id = self
            .store
            .user_resident_id(actor.user_id)
            .await?
            .ok_or_else(|| {
                AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
            })?;
        let resident = self
            .store
            .resident(resident_id)
            .await?
            .ok_or(AppError::NotFound("您的登记信息"))?;
        let results = self
            .store
            .person_results(&resident.id_type, &resident.id_number)
            .await?
            .into_iter()
            .map(person_result_view)
            .collect();
        // Masked even on the resident's own page: the page never needs the full number.
        let masked = mask_document(&resident.id_type, &resident.id_number);
        let mut antigen = self
            .store
            .antigen_reports_of(&resident.id_type, &resident.id_number)
            .await?;
        for report in &mut antigen {
            report.id_number = masked.clone();
        }
        let pending_rechecks = self
            .store
            .recheck_tasks(
                (&resident.grid_code, &format!("{}:", resident.grid_code)),
                Some("pending"),
                1000,
            )
            .await?
            .iter()
            .filter(|t| t.id_number == resident.id_number && t.id_type == resident.id_type)
            .count() as i64;
        let mut events = self
            .store
            .person_events_of(&resident.id_type, &resident.id_number)
            .await?;
        for event in &mut events {
            event.id_number = masked.clone();
        }
        let secret = self.sampling_secret().await?;
        let sampling_code = SamplingCode::format(resident.id, &sampling_tag(&secret, resident.id));
        Ok(MyResults {
            sampling_code,
            name: mask_middle(&resident.name, 1, 0),
            id_number_masked: mask_document(&resident.id_type, &resident.id_number),
            results,
            antigen,
            pending_rechecks,
            events,
        })
    }

    /// Links a resident's login to their register entry (administrators and commanders).
    pub async fn link_resident_login(
        &self,
        actor: &Actor,
        user_id: i64,
        resident_id: i64,
    ) -> AppResult<()> {
        actor.require(Permission::ManageUsers)?;
        load_within(actor, self.store.resident(resident_id)).await?;
        self.store
            .link_user_to_resident(user_id, resident_id)
            .await?;
        audit_by(
            self,
            actor,
            "update",
            &format!("user:{user_id}"),
            &format!("resident:{resident_id}"),
        )
        .await
    }

    /// Key-group members in a region overdue for their routine test under `schedule`.
    pub async fn key_group_overdue(
        &self,
        actor: &Actor,
        region_code: &str,
        group: KeyGroup,
        schedule: &RoutineSchedule,
    ) -> AppResult<KeyGroupOverdue> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        if code.level() < RegionLevel::County {
            return Err(AppError::Invalid(
                "重点人群逾期名单请按县（区）或以下查看".into(),
            ));
        }
        let hours = schedule.interval_hours(group).unwrap_or(168);
        let (lower, upper) = code.subtree_range();
        let people = self
            .store
            .key_group_overdue(
                (&lower, &upper),
                group.code(),
                self.now_unix() - hours * 3600,
                1000,
            )
            .await?
            .into_iter()
            .map(|p| OverdueView {
                resident_id: p.id,
                id_number_masked: mask_document(&p.id_type, &p.id_number),
                name: p.name,
                grid_code: p.grid_code,
                last_sampled_at: p.last_sampled_at,
            })
            .collect();
        Ok(KeyGroupOverdue {
            schedule: schedule.name,
            group,
            group_label: group.label_zh(),
            interval_hours: hours,
            interval_label: RoutineSchedule::interval_label_zh(hours),
            people,
        })
    }

    /// The routine schedules the pages offer.
    pub fn routine_schedules(&self) -> &'static [RoutineSchedule] {
        &ROUTINE_SCHEDULES
    }

    /// Records an antigen self-test. A resident reports for themself; a grid worker for a resident
    /// of the grid. A positive becomes a PCR recheck task routed to the grid.
    pub async fn report_antigen(
        &self,
        actor: &Actor,
        form: &AntigenForm,
        photo: Option<(&[u8], &str)>,
    ) -> AppResult<i64> {
        actor.require(Permission::ReportAntigen)?;
        let resident_id = if actor.role == Role::Resident {
            self.store
                .user_resident_id(actor.user_id)
                .await?
                .ok_or_else(|| {
                    AppError::Invalid("您的账号还没有关联到实有人口登记，请联系社区网格员".into())
                })?
        } else {
            form.resident_id
                .trim()
                .parse::<i64>()
                .map_err(|_| AppError::Invalid("请选择上报的居民".into()))?
        };
        let resident = load_within(actor, self.store.resident(resident_id)).await?;
        let result = TestResult::parse(&form.result)
            .ok_or_else(|| AppError::Invalid("请选择抗原结果：阴性、阳性或无效".into()))?;
        let now = self.now_unix();
        let tested_at = if form.tested_at.trim().is_empty() {
            now
        } else {
            let local =
                chrono::NaiveDateTime::parse_from_str(form.tested_at.trim(), "%Y-%m-%dT%H:%M")
                    .map_err(|_| AppError::Invalid("检测时间格式应为“2022-01-10T08:30”".into()))?;
            let t = china_offset()
                .from_local_datetime(&local)
                .single()
                .map(|t| t.timestamp())
                .unwrap_or(now);
            if t > now + 600 || t < now - 7 * 86_400 {
                return Err(AppError::Invalid(
                    "检测时间应在最近7天内，且不能晚于现在".into(),
                ));
            }
            t
        };
        if let Some((bytes, kind)) = photo {
            if bytes.len() > 4 * 1024 * 1024 {
                return Err(AppError::Invalid("照片不能超过4MB".into()));
            }
            if !matches!(kind, "image/jpeg" | "image/png" | "image/webp") {
                return Err(AppError::Invalid("照片应为JPG、PNG或WEBP格式".into()));
            }
        }
        let id = self
            .store
            .insert_antigen_report(
                &resident.id_type,
                &resident.id_number,
                &resident.name,
                Some(resident.id),
                &resident.grid_code,
                tested_at,
                result.code(),
                photo,
                now,
                &actor.display_name,
            )
            .await?;
        audit_by(
            self,
            actor,
            "create",
            &format!("antigen_report:{id}"),
            &format!("resident:{}", resident.id),
        )
        .await?;
        self.feed_health_codes().await;
        Ok(id)
    }

    pub async fn antigen_reports(
        &self,
        actor: &Actor,
        region_code: &str,
    ) -> AppResult<Vec<(AntigenReportRecord, String)>> {
        actor.require(Permission::ViewPopulation)?;
        let code = region_in_jurisdiction(actor, region_code)?;
        let (lower, upper) = code.subtree_range();
        Ok(self
            .store
            .antigen_reports((&lower, &upper), 500)
            .await?
            .into_iter()
            .map(|r| {
                let masked = mask_document(&r.id_type, &r.id_number);
                (r, masked)
            })
            .collect())
    }

    /// Open tubes at a table, so a reloaded sampling page shows the tube in hand.
    pub async fn open_tubes_at(
        &self,
        actor: &Actor,
        site_id: i64,
        table_no: i64,
    ) -> AppResult<Vec<fangkong_store::TubeRecord>> {
        actor.require(Permission::SampleSpecimens)?;
        self.sampling_site(actor, site_id).await?;
        Ok(self.store.open_tubes_at(site_id, table_no).await?)
    }
}

/// Fails when `count` more tubes on top of `issued` would pass a round's ceiling
/// ([`round_tube_ceiling`] of its target population).
fn check_tube_count(issued: i64, count: i64, target_population: i64) -> AppResult<()> {
    let ceiling = round_tube_ceiling(target_population);
    if issued.saturating_add(count) > ceiling {
        return Err(AppError::Invalid(format!(
            "本轮已下发{issued}支试管，再下发{count}支将超过本轮上限{ceiling}支\
             （应检人数{target_population}的2倍再加100万）；请核对数量"
        )));
    }
    Ok(())
}
