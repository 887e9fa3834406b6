//! The application boundary of fangkong: one function per command or query.
//!
//! Every function that reads or changes people's data takes the acting user ([`Actor`]) and checks,
//! here and not only in the pages, that the role allows it and that the target lies inside the
//! actor's jurisdiction. Reveals of personal data, exports, imports and changes are written to the
//! audit log. Time comes from a [`Clock`], so tests run on a fixed clock.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod blocking;
pub mod check;
pub mod checkpoints;
pub mod clock;
pub mod command;
pub mod door_visits;
pub mod drills;
pub mod export;
pub mod health_code;
pub mod import;
pub mod investigation;
pub mod isolation;
pub mod jobs;
pub mod lab_results;
pub mod leads;
pub mod mass_testing;
pub mod person_file;
pub mod population;
pub mod regions;
pub mod risk_areas;
pub mod runs;
pub mod scope;
pub mod supplies;
pub mod today;
pub mod warning;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
pub use clock::{Clock, FixedClock, InstanceKind, SimulationClock, SystemClock};

/// The setting where a sandbox keeps its simulation clock's position (unix seconds).
const SIMULATED_NOW_SETTING: &str = "simulated_now";
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::{Permission, Role};
pub use fangkong_store::{Store, StoreError};

/// China Standard Time: dates a user sees and types ("today", a visit's day) are Beijing dates.
pub fn china_offset() -> FixedOffset {
    fangkong_domain::time::beijing_offset()
}

/// A time `domain::time` read from a form, as unix seconds, or its words as a form mistake.
pub(crate) fn typed_unix(parsed: Result<DateTime<Utc>, String>) -> AppResult<i64> {
    parsed.map(|t| t.timestamp()).map_err(AppError::Invalid)
}

/// A live session and until when it may be trusted without reading the database.
type RememberedSession = (fangkong_store::SessionUser, i64);

/// The application: the store plus the clock. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    /// Private: pages and the API reach data only through `App`'s functions, which check the role
    /// and the jurisdiction. The data-loading tools use [`App::store_for_tools`].
    store: Store,
    clock: Arc<dyn Clock>,
    scan_writer: mass_testing::ScanWriter,
    pub(crate) codes: health_code::CodeRuntime,
    passage_writer: checkpoints::PassageWriter,
    /// Set by a writer's supervisor when the writer keeps panicking (see [`jobs::start_writer`]).
    writer_failures: jobs::WriterFailures,
    /// Live sessions by token hash, with how long each may be trusted without a database read.
    sessions: Arc<std::sync::RwLock<std::collections::HashMap<String, RememberedSession>>>,
    /// Failed logins per username and address (backoff, then a temporary lock).
    login_throttle: Arc<auth::LoginThrottle>,
    /// Recomputes of everyone's code asked for by requests, taken by a background job.
    recompute: Arc<jobs::RecomputeRequests>,
    /// The location pings' day files (`analytics`), when this server has them.
    pings_dir: Option<Arc<std::path::PathBuf>>,
}

impl App {
    /// Must be called inside a Tokio runtime: the group-commit writers start here, under
    /// supervision ([`jobs::start_writer`]), and end when the last clone of the `App` is dropped.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> App {
        let writer_failures = jobs::writer_failures();
        App {
            scan_writer: mass_testing::ScanWriter::start(&store, &clock, &writer_failures),
            passage_writer: checkpoints::PassageWriter::start(&store, &writer_failures),
            writer_failures,
            store,
            clock,
            codes: Default::default(),
            sessions: Default::default(),
            login_throttle: Default::default(),
            recompute: Default::default(),
            pings_dir: None,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// True when this instance runs a training or drill clock ([`SimulationClock`]).
    pub fn clock_is_simulated(&self) -> bool {
        self.clock.simulated()
    }

    /// Records what this installation is, or checks it against what it was recorded as: a
    /// production database refuses a simulation clock, and a sandbox stays a sandbox.
    pub async fn claim_instance_kind(&self, kind: InstanceKind) -> AppResult<()> {
        let recorded = self
            .store
            .setting_or_insert(InstanceKind::SETTING, kind.code())
            .await?;
        match (InstanceKind::from_code(&recorded), kind) {
            (Some(InstanceKind::Production), InstanceKind::Sandbox) => Err(AppError::Conflict(
                "这是正式库：模拟时钟只能用于培训、演练库（例如 fangkong demo 生成的库），正式库只按真实时间运行".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Remembers where a sandbox's simulation clock stands (the demo records it as it plays), so
    /// `serve` and `check` on that database resume the story's time instead of today's.
    pub async fn record_simulated_now(&self) -> AppResult<()> {
        if self.clock.simulated() {
            self.store
                .put_setting(SIMULATED_NOW_SETTING, &self.now_unix().to_string())
                .await?;
        }
        Ok(())
    }

    /// Where a sandbox's simulation clock was left, if the database is a sandbox that recorded it
    /// (read before the `App` exists: it decides the clock the `App` is made with).
    pub async fn recorded_simulated_now(store: &Store) -> AppResult<Option<DateTime<Utc>>> {
        let kind = store.setting(InstanceKind::SETTING).await?;
        if kind.as_deref().and_then(InstanceKind::from_code) != Some(InstanceKind::Sandbox) {
            return Ok(None);
        }
        Ok(store
            .setting(SIMULATED_NOW_SETTING)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|at| DateTime::from_timestamp(at, 0)))
    }

    /// The store itself, for the tools that work below any one user's jurisdiction: the binary's
    /// bulk loaders, benchmarks and demo seeding, and tests' set-up and checks. `web` never calls it
    /// (the architecture test fails if it does).
    pub fn store_for_tools(&self) -> &Store {
        &self.store
    }

    pub fn now_unix(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The time sessions and the login throttle count in: real time even on a simulation clock,
    /// so an eight-hour session or a fifteen-minute lock does not pass in minutes of a fast drill.
    pub fn security_now_unix(&self) -> i64 {
        self.clock.security_now().timestamp()
    }

    /// Today's date in China.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&china_offset()).date_naive()
    }

    /// When an action took place (unix seconds): the past-dated time an office entered (补录,
    /// `occurred_at`), bounded by `domain::time::bound_occurred_at` (not in the future, at most
    /// `OCCURRED_AT_MAX_DAYS_BACK` days back, not before `follows`: the event it comes after, with
    /// its name), or now. A refusal names `field`.
    pub(crate) fn occurred_at(
        &self,
        entered: Option<DateTime<Utc>>,
        field: &str,
        follows: Option<(&str, i64)>,
    ) -> AppResult<i64> {
        let follows = follows
            .and_then(|(name, at)| DateTime::<Utc>::from_timestamp(at, 0).map(|at| (name, at)));
        fangkong_domain::time::bound_occurred_at(entered, self.now(), follows)
            .map(|at| at.timestamp())
            .map_err(|problem| AppError::field(field, problem))
    }

    /// An audit detail with the past-dated time it records, when `at` is not now:
    /// `check_in；补录：实际时间 2021-01-05 14:00（北京时间）`.
    pub(crate) fn occurred_detail(&self, detail: impl Into<String>, at: i64) -> String {
        let mut detail = detail.into();
        if let Some(at) = DateTime::<Utc>::from_timestamp(at, 0)
            && let Some(note) = fangkong_domain::time::occurred_at_note(at, self.now())
        {
            if !detail.is_empty() {
                detail.push('；');
            }
            detail.push_str(&note);
        }
        detail
    }
}

/// The user acting, and from where (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub jurisdiction: RegionCode,
    pub client_addr: String,
    /// Private, so no crate but `app` can write an `Actor` literal: an actor comes from a verified
    /// login or session (`auth`), or from [`Actor::seeding`] for the tools that load data.
    sealed: Sealed,
}

/// The private part of [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sealed;

impl Actor {
    /// The actor of the tools that load data below any one user — the seeding of the demo, the
    /// benchmarks and the tests' fixtures (user id 0, client "local"). `web` never calls it: the
    /// architecture test fails if it does, so every request acts as the user its session proves.
    pub fn seeding(
        role: Role,
        jurisdiction: RegionCode,
        username: &str,
        display_name: &str,
    ) -> Actor {
        Actor {
            user_id: 0,
            username: username.to_string(),
            display_name: display_name.to_string(),
            role,
            jurisdiction,
            client_addr: "local".into(),
            sealed: Sealed,
        }
    }

    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden { role: self.role })
        }
    }

    /// Fails unless `code` lies in the actor's jurisdiction.
    pub fn require_within(&self, code: &RegionCode) -> AppResult<()> {
        if self.jurisdiction.contains(code) {
            Ok(())
        } else {
            Err(AppError::OutsideJurisdiction)
        }
    }

    /// Fails unless the looked-up record's `code` lies in the actor's jurisdiction, with the very
    /// answer a missing record gets (`NotFound(what)`, 404): a foreign id and a missing id cannot be
    /// told apart, so ids cannot be enumerated. Reached only through [`scope::load_within`];
    /// [`Actor::require_within`] (403) stays for region codes the user typed.
    pub(crate) fn require_found_within(
        &self,
        code: &RegionCode,
        what: &'static str,
    ) -> AppResult<()> {
        if self.jurisdiction.contains(code) {
            Ok(())
        } else {
            Err(AppError::NotFound(what))
        }
    }

    pub fn jurisdiction_range(&self) -> (String, String) {
        self.jurisdiction.subtree_range()
    }
}

/// Errors of the application boundary. `Display` is the Chinese message a user sees; internal errors
/// keep their cause for the log and show a generic message.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Invalid(String),
    #[error("没有找到{0}")]
    NotFound(&'static str),
    #[error("您的角色（{}）无权执行此操作", role.label_zh())]
    Forbidden { role: Role },
    #[error("该记录不在您的管辖范围内")]
    OutsideJurisdiction,
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("请先登录")]
    NotLoggedIn,
    #[error("登录已过期，请重新登录")]
    SessionExpired,
    #[error("{0}")]
    Conflict(String),
    /// Too many failed logins: wait (the message says how long).
    #[error("{0}")]
    TooManyAttempts(String),
    /// A request body or upload over its limit (the message names the limit).
    #[error("{0}")]
    TooLarge(String),
    #[error("系统内部错误，请稍后重试；如果一直出现，请联系管理员")]
    Store(#[source] StoreError),
    /// A failure that is nobody's input: a broken invariant, a file or task error. The cause is kept
    /// (as the error's `source()`) for the log; the user sees only the generic message.
    #[error("系统内部错误，请稍后重试；如果一直出现，请联系管理员")]
    Internal(#[source] InternalCause),
}

/// The cause kept by [`AppError::Internal`]: any error, or a text (`"…".into()`) when there is none.
pub type InternalCause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A cause under the step that failed (“temp file”, “argon2”), so the log reads
/// `temp file: No space left on device` while the original error stays reachable as `source()`.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct InternalContext {
    context: String,
    #[source]
    cause: InternalCause,
}

impl AppError {
    /// A value of a form or body that cannot be taken, naming the field as the form labels it:
    /// “风险等级：请选择”.
    pub fn field(label: &str, problem: impl std::fmt::Display) -> AppError {
        AppError::Invalid(format!("{label}：{problem}"))
    }

    /// An internal error kept with its cause: an error, or a text for a broken invariant.
    pub fn internal(cause: impl Into<InternalCause>) -> AppError {
        AppError::Internal(cause.into())
    }

    /// An internal error naming the step that failed, with the step's own error as the source.
    pub fn internal_in(context: impl Into<String>, cause: impl Into<InternalCause>) -> AppError {
        AppError::Internal(Box::new(InternalContext {
            context: context.into(),
            cause: cause.into(),
        }))
    }

    /// A stable machine-readable code for the JSON API.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "invalid_input",
            AppError::NotFound(_) => "not_found",
            AppError::Forbidden { .. } => "forbidden",
            AppError::OutsideJurisdiction => "outside_jurisdiction",
            AppError::BadCredentials => "bad_credentials",
            AppError::NotLoggedIn => "not_logged_in",
            AppError::SessionExpired => "session_expired",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "too_large",
            AppError::TooManyAttempts(_) => "too_many_attempts",
            AppError::Store(_) | AppError::Internal(_) => "internal",
        }
    }
}

impl AppError {
    /// What an internal error may say in a log line, without personal data: the chain of causes
    /// (`export write: No space left on device`), where a database error is reduced to its message
    /// (never the detail, which for a unique violation holds the duplicated value). `None` for the
    /// errors a user caused, which are not logged.
    pub fn internal_log_text(&self) -> Option<String> {
        match self {
            AppError::Store(store_error) => Some(store_log_text(store_error)),
            AppError::Internal(cause) => Some(cause_chain_log_text(cause.as_ref())),
            _ => None,
        }
    }
}

/// A store error as it may be logged: see [`AppError::internal_log_text`].
fn store_log_text(store_error: &StoreError) -> String {
    match store_error {
        StoreError::Database(database_error) => match database_error.as_database_error() {
            Some(db) => format!("database: {}", db.message()),
            // Other driver errors (pool timeout, io) carry no row values.
            None => format!("database: {database_error}"),
        },
        other => other.to_string(),
    }
}

/// `cause` and its `source()`s joined by `: `. A store error met on the way is reduced as
/// [`store_log_text`] does and ends the walk (its sources are the database's own words). A link whose
/// text the previous one already ends with (an error that prints its source too) is not repeated.
fn cause_chain_log_text(cause: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut previous = String::new();
    let mut link = Some(cause);
    while let Some(error) = link {
        // A group-commit writer shares one store error among the requests of its group.
        let store_error = error.downcast_ref::<StoreError>().or_else(|| {
            error
                .downcast_ref::<Arc<StoreError>>()
                .map(|shared| shared.as_ref())
        });
        let (this, last) = match store_error {
            Some(store_error) => (store_log_text(store_error), true),
            None => (error.to_string(), false),
        };
        let repeated = !previous.is_empty() && previous.ends_with(&this);
        if !repeated {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&this);
        }
        if last {
            break;
        }
        previous = this;
        link = error.source();
    }
    text
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::BulkLoadInProgress => AppError::Conflict(
                "正在进行首次批量导入居民，导入完成（通常几分钟）后再保存".into(),
            ),
            other => AppError::Store(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Writes one audit record; every reveal, export, import and change goes through here.
pub(crate) async fn audit(
    app: &App,
    actor: Option<&Actor>,
    username: &str,
    client_addr: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> AppResult<()> {
    app.store
        .insert_audit(&fangkong_store::AuditRecord {
            id: 0,
            at: app.now_unix(),
            user_id: actor.map(|a| a.user_id),
            username: username.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.to_string(),
            client_addr: client_addr.to_string(),
        })
        .await?;
    Ok(())
}

/// A form's "when it happened" field (实际时间, `occurred_at`) parsed: empty = now (None), else a
/// Beijing time; a refusal names `field`. Bounded later by [`App::occurred_at`].
pub(crate) fn parse_occurred_at(text: &str, field: &str) -> AppResult<Option<DateTime<Utc>>> {
    fangkong_domain::time::parse_occurred_at(text)
        .map_err(|problem| AppError::field(field, problem))
}

/// The audit record of a change `actor` makes now, for the store to write inside the change's own
/// transaction (`store::audit::write_audit!`), so a change is never kept without its record. An
/// empty `target` is filled by the store with the id the write creates.
pub(crate) fn audit_record(
    app: &App,
    actor: &Actor,
    action: &str,
    target: impl ToString,
    detail: impl Into<String>,
) -> fangkong_store::AuditRecord {
    fangkong_store::AuditRecord {
        id: 0,
        at: app.now_unix(),
        user_id: Some(actor.user_id),
        username: actor.username.clone(),
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.into(),
        client_addr: actor.client_addr.clone(),
    }
}

pub(crate) async fn audit_by(
    app: &App,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> AppResult<()> {
    audit(
        app,
        Some(actor),
        &actor.username,
        &actor.client_addr,
        action,
        target,
        detail,
    )
    .await
}

impl App {
    /// The next person events (at most `limit`) that the consumer whose cursor is the setting
    /// `cursor` has not read yet, in id order. Every module that follows the stream reads it so.
    pub(crate) async fn unread_person_events(
        &self,
        cursor: &str,
        limit: i64,
    ) -> AppResult<Vec<fangkong_store::PersonEventRecord>> {
        let after: i64 = self
            .store
            .setting(cursor)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(self.store.person_events_after(after, limit).await?)
    }

    /// Moves the consumer's cursor past event `last_id`.
    pub(crate) async fn mark_person_events_read(
        &self,
        cursor: &str,
        last_id: i64,
    ) -> AppResult<()> {
        Ok(self.store.put_setting(cursor, &last_id.to_string()).await?)
    }
}

/// A consumer's place in the person-event stream: every module that acts on the stream reads it
/// so. `next` hands out the unread events a batch at a time and, when asked for the next batch,
/// moves the cursor past the one before — so a batch whose handling failed (the consumer returned
/// early) is read again next time; each consumer's writes are idempotent.
///
/// ```ignore
/// let mut cursor = EventCursor::new(EVENT_CURSOR_SETTING, 2_000);
/// while let Some(events) = cursor.next(self).await? {
///     // act on `events`
/// }
/// Ok(cursor.read())
/// ```
pub(crate) struct EventCursor {
    setting: &'static str,
    batch: i64,
    /// The last id and the size of the batch handed out and not yet marked read.
    pending: Option<(i64, usize)>,
    read: usize,
}

impl EventCursor {
    pub(crate) fn new(setting: &'static str, batch: i64) -> EventCursor {
        EventCursor {
            setting,
            batch,
            pending: None,
            read: 0,
        }
    }

    /// Marks the batch handed out before as read, then reads the next; None when nothing is unread.
    pub(crate) async fn next(
        &mut self,
        app: &App,
    ) -> AppResult<Option<Vec<fangkong_store::PersonEventRecord>>> {
        if let Some((last, n)) = self.pending.take() {
            app.mark_person_events_read(self.setting, last).await?;
            self.read += n;
        }
        let events = app.unread_person_events(self.setting, self.batch).await?;
        Ok(events.last().map(|e| e.id).map(|last| {
            self.pending = Some((last, events.len()));
            events
        }))
    }

    /// How many events were read and handled.
    pub(crate) fn read(&self) -> usize {
        self.read
    }
}

/// A list as a page shows it: the rows shown (at most a page's limit) and how many there are in
/// all, so a heading never calls the first 500 rows “all” ("管控中人员 500 人" of 908).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// How many rows the list has in all (≥ `rows.len()`).
    pub total: i64,
}

impl<T> Page<T> {
    /// `rows` cut from a list of `total`; a `total` below the rows shown is raised to them (a count
    /// taken a moment before the rows can lag behind).
    pub fn new(rows: Vec<T>, total: i64) -> Page<T> {
        let total = total.max(rows.len() as i64);
        Page { rows, total }
    }

    /// The same page with each row turned into what a view shows.
    pub fn map<U>(self, row: impl FnMut(T) -> U) -> Page<U> {
        Page {
            rows: self.rows.into_iter().map(row).collect(),
            total: self.total,
        }
    }

    /// Whether rows were left out.
    pub fn truncated(&self) -> bool {
        self.total > self.rows.len() as i64
    }

    /// “908 人（只显示前 500 人）” or “12 人”.
    pub fn count_label(&self, unit: &str) -> String {
        if self.truncated() {
            format!(
                "{} {unit}（只显示前 {} {unit}）",
                self.total,
                self.rows.len()
            )
        } else {
            format!("{} {unit}", self.total)
        }
    }
}

/// Parses a region code typed or sent by a user, with a Chinese message.
pub fn parse_region_code(raw: &str) -> AppResult<RegionCode> {
    RegionCode::parse(raw.trim()).map_err(AppError::Invalid)
}

/// Records the pages and the API show as they are (plain data, no behaviour).
pub mod records {
    pub use fangkong_store::analytics::NewJob as NewAnalyticsJob;
    pub use fangkong_store::investigation::{CaseWrite, ContactWrite};
    pub use fangkong_store::{
        AppealRecord, AuditRecord, CodePerson, DoorVisitRecord, FactWrite, GridWorkerRecord,
        HouseholdRecord, ImportRecord, NewRiskArea, RegionRecord, RowOutcome, SiteRecord,
        UnvisitedHousehold, UserRecord, VenueVisitRecord,
    };
    pub use fangkong_store::{LeadRecord, ResidentRecord};
}

#[cfg(test)]
mod tests {
    use super::{AppError, Page, StoreError};

    #[test]
    fn a_page_says_how_many_there_are_in_all_when_rows_were_left_out() {
        let cut = Page::new(vec![1; 500], 908);
        assert!(cut.truncated());
        assert_eq!(cut.count_label("人"), "908 人（只显示前 500 人）");
        let whole = Page::new(vec![1; 12], 12);
        assert!(!whole.truncated());
        assert_eq!(whole.count_label("人"), "12 人");
        // A count that lags behind the rows never says fewer than are shown.
        assert_eq!(Page::new(vec![1; 3], 2).total, 3);
    }

    #[test]
    fn an_internal_error_keeps_its_cause_for_the_log_and_shows_the_generic_message() {
        use std::error::Error as _;

        let disk_full = std::io::Error::other("No space left on device");
        let error = AppError::internal_in("export write", disk_full);
        assert_eq!(
            error.to_string(),
            "系统内部错误，请稍后重试；如果一直出现，请联系管理员"
        );
        assert_eq!(error.code(), "internal");
        let context = error.source().expect("the context is the source");
        assert_eq!(context.to_string(), "export write");
        let io = context
            .source()
            .and_then(|cause| cause.downcast_ref::<std::io::Error>())
            .expect("the io::Error is kept under the context");
        assert_eq!(io.to_string(), "No space left on device");
        assert_eq!(
            error.internal_log_text().as_deref(),
            Some("export write: No space left on device")
        );

        let bare = AppError::internal(std::io::Error::other("broken pipe"));
        assert!(
            bare.source()
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .is_some()
        );
        assert_eq!(bare.internal_log_text().as_deref(), Some("broken pipe"));

        let text = AppError::internal("unknown case status");
        assert_eq!(
            text.internal_log_text().as_deref(),
            Some("unknown case status")
        );
    }

    #[test]
    fn a_store_error_under_an_internal_error_is_logged_as_the_store_rule_says() {
        let store_error = StoreError::BulkLoadInProgress;
        let error = AppError::internal_in("nightly job", store_error);
        assert_eq!(
            error.internal_log_text().as_deref(),
            Some("nightly job: a first bulk load of residents is in progress")
        );
    }

    #[test]
    fn a_cause_that_prints_its_source_too_is_not_repeated_in_the_log() {
        #[derive(Debug, thiserror::Error)]
        #[error("read upload: {source}")]
        struct ReadUpload {
            source: std::io::Error,
        }
        let error = AppError::internal_in(
            "import",
            ReadUpload {
                source: std::io::Error::other("unexpected end of file"),
            },
        );
        assert_eq!(
            error.internal_log_text().as_deref(),
            Some("import: read upload: unexpected end of file")
        );
    }
}
