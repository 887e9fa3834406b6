//! Mass testing (全员/区域核酸检测): rounds, sites and the planner, binding at the table (through one
//! group-commit writer), boxes and the chain of custody, coverage and the missing list, recheck
//! tasks, key-group routine testing, antigen self-tests, residents' own results, and residents'
//! moves followed into the open rounds.

mod antigen;
mod binding;
mod boxes;
mod coverage;
mod moves;
mod rechecks;
mod results;
mod rounds;
mod routine;
mod sites;

pub use antigen::ReportAntigen;
pub use boxes::PackBox;
pub use coverage::SetExemption;
pub use rounds::{IssueTubes, OpenRound};
pub use sites::CreateSite;

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
    RecheckTaskRecord, RoundAreaRecord, RoundRecord, ScanAudit, ScanOutcome, ScanWrite,
    ScannedPerson, SiteRecord, Store, TubeChainCounts,
};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::jobs::WriterError;
use crate::population::mask_document;
use crate::scope::load_within;
use crate::{
    Actor, App, AppError, AppResult, Clock, audit_record, china_offset, parse_region_code,
};

/// Most scans one request may carry (an offline table uploads its queue in pieces of this size).
pub const MAX_SCANS_PER_BATCH: usize = 5000;
/// Most scans the writer puts in one transaction.
const GROUP_MAX_SCANS: usize = 8000;

// ---------------------------------------------------------------------------------------------
// The group-commit writer
// ---------------------------------------------------------------------------------------------

/// The scan writer's name in the log and in its errors.
pub(crate) const SCAN_WRITER: &str = "scan writer";

struct ScanJob {
    scans: Vec<ScanWrite>,
    /// Audit records of past-dated scans (补录), their indices into `scans`.
    audits: Vec<ScanAudit>,
    reply: oneshot::Sender<Result<Vec<ScanOutcome>, WriterError>>,
}

/// One writer task per process decides and commits bindings: every request waiting when a
/// transaction starts joins it, so a thousand tables cost one disk flush, not a thousand — and a
/// request is answered only after the commit that holds its scans.
#[derive(Clone, Debug)]
pub(crate) struct ScanWriter(mpsc::Sender<ScanJob>);

impl ScanWriter {
    /// Starts the writer under supervision (see [`crate::jobs::start_writer`]).
    pub(crate) fn start(
        store: &Store,
        clock: &Arc<dyn Clock>,
        failed: &crate::jobs::WriterFailures,
    ) -> ScanWriter {
        let (store, clock) = (store.clone(), clock.clone());
        ScanWriter(crate::jobs::start_writer(
            SCAN_WRITER,
            4096,
            failed,
            move |queue| run_scan_writer(store.clone(), clock.clone(), queue),
        ))
    }

    fn queue(&self) -> &mpsc::Sender<ScanJob> {
        &self.0
    }
}

async fn run_scan_writer(
    store: Store,
    clock: Arc<dyn Clock>,
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<ScanJob>>>,
) {
    let mut rx = queue.lock().await;
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
        let mut audits = Vec::new();
        for job in jobs {
            sizes.push(job.scans.len());
            replies.push(job.reply);
            let offset = all.len();
            audits.extend(job.audits.into_iter().map(|mut audit| {
                audit.scans.iter_mut().for_each(|i| *i += offset);
                audit
            }));
            all.extend(job.scans);
        }
        let now = clock.now().timestamp();
        match store.apply_scans(&all, &audits, now).await {
            Ok(outcomes) => {
                written += outcomes.len() as u64;
                if written >= next_statistics {
                    next_statistics = written + written.min(1_000_000);
                    // Off the writer's path: ANALYZE of a large table takes seconds, and the
                    // tables waiting for their answers must not.
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
                let error = WriterError::group_failed(SCAN_WRITER, all.len(), error);
                for reply in replies {
                    let _ = reply.send(Err(error.shared()));
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
    /// A line with nothing counted yet.
    pub(crate) fn empty(code: &str) -> CoverageLine {
        CoverageLine {
            code: code.to_string(),
            name: String::new(),
            target: 0,
            exempt: 0,
            sampled: 0,
            outside: 0,
            walk_ins: 0,
            per_mille: 0,
        }
    }

    pub(crate) fn add(&mut self, row: &ProgressRow) {
        self.target += row.target;
        self.exempt += row.exempt;
        self.sampled += row.sampled;
        self.outside += row.outside;
        self.walk_ins += row.walk_ins;
    }

    pub(crate) fn finish(&mut self) {
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

/// A box is late when nobody has received it this long after packing (the rule is the domain's).
pub use fangkong_domain::mass_testing::BOX_LATE_AFTER_SECONDS;

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
#[derive(Clone, Deserialize)]
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
/// scan (same id) is answered `already_recorded` and writes nothing. Unchecked text: no `Debug`.
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
    /// When the person was actually swabbed, typed by a sampler entering a backlog (补录): Beijing
    /// time `YYYY-MM-DD HH:MM`; empty = when scanned. Checked per scan (a bad one is that scan's
    /// refusal) and audited.
    #[serde(default)]
    pub occurred_at: String,
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

fn recheck_view(task: RecheckTaskRecord) -> RecheckView {
    RecheckView {
        reason_label: task.reason.label_zh(),
        status_label: task.status.label_zh(),
        id_number_masked: mask_document(&task.id_type, &task.id_number),
        id: task.id,
        round_id: task.round_id,
        source: task.source,
        name: task.name.into(),
        resident_id: task.resident_id,
        grid_code: task.grid_code,
        created_at: task.created_at,
        status: task.status.code().to_string(),
        sample_tube: task.sample_tube,
    }
}

fn person_result_view(r: PersonResult) -> PersonResultView {
    let result = r.result;
    let kind_label = if r.purpose == SamplePurpose::Recheck {
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
fn pool_size_at(round: &RoundRecord, areas: &[RoundAreaRecord], site_region: &RegionCode) -> i64 {
    areas
        .iter()
        .filter(|a| a.region_code.contains(site_region))
        .max_by_key(|a| a.region_code.as_str().len())
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
