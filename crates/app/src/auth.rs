//! Users, password login (argon2id), sessions and their CSRF tokens.
//!
//! Longer than 800 lines: not yet split along its sections (issue 12 continues: the capability
//! becomes a folder with the sub-area names of crates/app/src).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::{Permission, Role};
use fangkong_store::{AccountWrite, EndSessions};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Actor, App, AppError, AppResult, audit, audit_by, audit_record};

/// How long a login lasts (a duty shift and some).
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// A new session: the cookie value (only ever held by the browser) and the user.
#[derive(Clone)]
pub struct NewSession {
    pub token: String,
    pub actor: Actor,
    pub csrf_token: String,
}

/// The actor of a live session and its CSRF token.
/// How long a live session is remembered in memory (a disabled user's other processes notice
/// within this time; logout in this process at once).
const SESSION_MEMORY_SECONDS: i64 = 30;

#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub actor: Actor,
    pub csrf_token: String,
}

/// An account to create, typed (role and jurisdiction parsed); `validate_new_user` checks the
/// rest before anything is read or written. No `Debug`: it holds the password.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub jurisdiction: RegionCode,
    pub password: String,
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::thread_rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal_in("argon2", e))
}

fn password_matches(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Runs an argon2 computation on the bounded blocking pool ([`crate::blocking`]): a flood of
/// logins waits for a permit instead of taking every blocking thread and every core.
async fn on_argon2_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    crate::blocking::run(crate::blocking::Heavy::Password, work).await
}

async fn hash_password_pooled(password: &str) -> AppResult<String> {
    let password = password.to_string();
    on_argon2_pool(move || hash_password(&password)).await?
}

/// A hash of a random password, verified against when the username does not exist, so that an
/// unknown username costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_hex(16)).unwrap_or_default())
}

/// Verifies on the pool; `None` (no such user) verifies against the dummy hash and fails.
async fn verify_pooled(password: &str, stored_hash: Option<String>) -> AppResult<bool> {
    let password = password.to_string();
    on_argon2_pool(move || match stored_hash {
        Some(hash) => password_matches(&password, &hash),
        None => {
            password_matches(&password, dummy_hash());
            false
        }
    })
    .await
}

/// The password rule: at least [`PASSWORD_MIN_CHARS`] characters, not one of the passwords
/// everybody tries first, not one character repeated and not a run like `1234567890` or `abcdefghij`.
pub const PASSWORD_MIN_CHARS: usize = 10;

const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "0123456789",
    "12345678910",
    "123456789a",
    "a123456789",
    "aa123456789",
    "1234567890a",
    "1234567890q",
    "qwertyuiop",
    "qwerty1234",
    "qwerty123456",
    "1qaz2wsx3edc",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "zaq12wsxcde3",
    "asdfghjkl1",
    "zxcvbnm123",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "p@ssw0rd123",
    "iloveyou12",
    "woaini1314",
    "woaini520520",
    "5201314520",
    "1314520520",
    "abc1234567",
    "abcd123456",
    "abc123456789",
    "admin12345",
    "admin123456",
    "administrator",
    "root123456",
    "test123456",
    "welcome123",
    "fangkong123",
    "fangkong1234",
    "changeme123",
    "letmein1234",
    "1111111111",
    "123123123123",
    "147258369",
    "1472583690",
    "9876543210",
    "987654321a",
];

/// Checks a new password against the rule; the message says what is wrong.
pub fn check_password_rule(password: &str, username: &str) -> AppResult<()> {
    let chars: Vec<char> = password.chars().collect();
    if chars.len() < PASSWORD_MIN_CHARS {
        return Err(AppError::Invalid(format!(
            "密码至少{PASSWORD_MIN_CHARS}位（现在是{}位）",
            chars.len()
        )));
    }
    if chars.len() > 128 {
        return Err(AppError::Invalid("密码最多128位".into()));
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Err(AppError::Invalid(
            "这个密码太常见，很容易被猜到，请换一个".into(),
        ));
    }
    // A name of three characters or fewer ("op", "gw") is part of too many ordinary words to refuse.
    if username.chars().count() >= 4 && lower.contains(&username.to_lowercase()) {
        return Err(AppError::Invalid("密码不能包含用户名".into()));
    }
    let distinct: std::collections::HashSet<char> = chars.iter().copied().collect();
    if distinct.len() <= 2 {
        return Err(AppError::Invalid(
            "密码不能只由一两个字符重复组成，请换一个".into(),
        ));
    }
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| i64::from(u32::from(w[1])) - i64::from(u32::from(w[0])))
        .collect();
    if steps.iter().all(|d| *d == 1) || steps.iter().all(|d| *d == -1) {
        return Err(AppError::Invalid(
            "密码不能是连续的数字或字母（如1234567890、abcdefghij），请换一个".into(),
        ));
    }
    Ok(())
}

/// A username typed at a failed login, as the audit log keeps it: something that looks like an ID
/// number or a phone number (people type those into the username box) is masked like everywhere
/// else, and anything very long is cut.
pub fn audit_username(typed: &str) -> String {
    let typed = typed.trim();
    let digits = typed
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'X' || *c == 'x')
        .count();
    let looks_personal = digits >= 7 && digits * 10 >= typed.chars().count() * 6;
    let cut: String = typed.chars().take(32).collect();
    if looks_personal {
        fangkong_domain::ids::mask_middle(&cut, 3, 2)
    } else {
        cut
    }
}

/// Failed logins remembered per username and per client address: a few tries are free, then each
/// further try must wait twice as long as the one before, and after [`LOCK_AFTER_USER`] (or
/// [`LOCK_AFTER_ADDR`]) failures the name (or the address) is locked for [`LOCK_SECONDS`]. Kept in
/// memory per process; forgotten [`FORGET_SECONDS`] after the last failure or at a successful login.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    last: i64,
    locked_until: i64,
    /// Attempts admitted and not yet decided (their password is being hashed). They count against
    /// the free tries, so a burst sent at once cannot slip past the lock before the first failure
    /// is recorded.
    in_flight: u32,
}

/// Failed tries of one username before the next try must wait.
pub const FREE_TRIES_USER: u32 = 3;
/// Failed tries of one username after which it is locked.
pub const LOCK_AFTER_USER: u32 = 10;
/// An office often shares one address: it gets more room than a username.
pub const FREE_TRIES_ADDR: u32 = 10;
pub const LOCK_AFTER_ADDR: u32 = 50;
/// How long a lock lasts.
pub const LOCK_SECONDS: i64 = 5 * 60;
const FORGET_SECONDS: i64 = 15 * 60;
const MAX_BACKOFF_SECONDS: i64 = 60;
/// Names and addresses remembered at most; past it, entries neither locked nor in flight are
/// dropped first (a flood of made-up names cannot grow the memory without bound).
const MAX_REMEMBERED: usize = 100_000;
/// A typed username is remembered by at most this many characters.
const KEY_CHARS: usize = 64;

fn throttle_keys(username: &str, addr: &str) -> [(String, u32, u32); 2] {
    let name: String = username.chars().take(KEY_CHARS).collect();
    let addr: String = addr.chars().take(KEY_CHARS).collect();
    [
        (format!("user:{name}"), FREE_TRIES_USER, LOCK_AFTER_USER),
        (format!("addr:{addr}"), FREE_TRIES_ADDR, LOCK_AFTER_ADDR),
    ]
}

impl LoginThrottle {
    fn refusal(entry: &Failures, free: u32, lock_after: u32, now: i64) -> Option<AppError> {
        if entry.locked_until > now {
            let minutes = (entry.locked_until - now + 59) / 60;
            return Some(AppError::TooManyAttempts(format!(
                "登录失败次数过多，请{minutes}分钟后再试"
            )));
        }
        if entry.count >= free {
            let wait = (1_i64 << (entry.count - free).min(6)).min(MAX_BACKOFF_SECONDS);
            let allowed_at = entry.last + wait;
            if allowed_at > now {
                return Some(AppError::TooManyAttempts(format!(
                    "登录尝试过于频繁，请{}秒后再试",
                    allowed_at - now
                )));
            }
        }
        // Attempts in flight count as the failures they may turn out to be: however many are sent at
        // once, no more guesses get through than the lock allows.
        if entry.in_flight >= lock_after.saturating_sub(entry.count).max(1) {
            return Some(AppError::TooManyAttempts(
                "登录请求过于频繁，请稍后再试".into(),
            ));
        }
        None
    }

    /// Admits an attempt (before any hashing) unless the name or the address must wait; the attempt
    /// counts as in flight until the returned guard records its outcome or is dropped.
    fn begin(&self, username: &str, addr: &str, now: i64) -> AppResult<LoginAttempt<'_>> {
        let mut memory = self
            .failures
            .lock()
            .map_err(|_| AppError::internal("login throttle lock"))?;
        let keys = throttle_keys(username, addr);
        for (key, free, lock_after) in &keys {
            if let Some(entry) = memory.get_mut(key) {
                if now - entry.last >= FORGET_SECONDS && entry.locked_until <= now {
                    entry.count = 0;
                }
                if let Some(refusal) = Self::refusal(entry, *free, *lock_after, now) {
                    return Err(refusal);
                }
            }
        }
        if memory.len() > MAX_REMEMBERED {
            memory.retain(|_, f| {
                now - f.last < FORGET_SECONDS || f.locked_until > now || f.in_flight > 0
            });
            if memory.len() > MAX_REMEMBERED {
                memory.retain(|_, f| f.locked_until > now || f.in_flight > 0);
            }
        }
        for (key, _, _) in &keys {
            let entry = memory.entry(key.clone()).or_insert(Failures {
                last: now,
                ..Failures::default()
            });
            entry.in_flight += 1;
        }
        Ok(LoginAttempt {
            throttle: self,
            keys,
            decided: false,
        })
    }
}

/// One admitted login attempt: records its outcome, or on drop (an error before a decision) just
/// leaves the in-flight count.
struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    keys: [(String, u32, u32); 2],
    decided: bool,
}

impl LoginAttempt<'_> {
    fn failed(mut self, now: i64) {
        self.decided = true;
        let Ok(mut memory) = self.throttle.failures.lock() else {
            return;
        };
        for (key, _, lock_after) in &self.keys {
            let entry = memory.entry(key.clone()).or_default();
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if now - entry.last >= FORGET_SECONDS && entry.locked_until <= now {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
            if entry.count >= *lock_after {
                entry.locked_until = now + LOCK_SECONDS;
                entry.count = 0;
            }
        }
    }

    fn succeeded(mut self) {
        self.decided = true;
        if let Ok(mut memory) = self.throttle.failures.lock() {
            let [(user_key, _, _), (addr_key, _, _)] = &self.keys;
            memory.remove(user_key);
            if let Some(entry) = memory.get_mut(addr_key) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
            }
        }
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if self.decided {
            return;
        }
        if let Ok(mut memory) = self.throttle.failures.lock() {
            for (key, _, _) in &self.keys {
                if let Some(entry) = memory.get_mut(key) {
                    entry.in_flight = entry.in_flight.saturating_sub(1);
                }
            }
        }
    }
}

fn validate_new_user(user: &NewUser) -> AppResult<()> {
    let name_ok = !user.username.is_empty()
        && user.username.len() <= 32
        && user
            .username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !name_ok {
        return Err(AppError::Invalid(
            "用户名只能由1–32位字母、数字、下划线、点或横线组成".into(),
        ));
    }
    check_password_rule(&user.password, &user.username)?;
    if user.display_name.trim().is_empty() {
        return Err(AppError::Invalid("请填写姓名或单位名称".into()));
    }
    Ok(())
}

impl App {
    /// Creates a user from the command line or the seed (no acting user: the operator of the machine).
    pub async fn create_user_unchecked(&self, user: &NewUser, by: &str) -> AppResult<i64> {
        let audit = operator_audit(self, by, "create", new_user_words(user));
        self.insert_new_user(user, &audit).await
    }

    /// Creates a user on behalf of an administrator, inside the administrator's jurisdiction.
    pub async fn create_user(&self, actor: &Actor, user: &NewUser) -> AppResult<i64> {
        actor.require(Permission::ManageUsers)?;
        actor.require_within(&user.jurisdiction)?;
        let audit = audit_record(self, actor, "create", "", new_user_words(user));
        self.insert_new_user(user, &audit).await
    }

    /// Checks the account before anything is read, then writes it with its audit record in one
    /// transaction.
    async fn insert_new_user(
        &self,
        user: &NewUser,
        audit: &fangkong_store::AuditRecord,
    ) -> AppResult<i64> {
        validate_new_user(user)?;
        if self
            .store
            .region(user.jurisdiction.as_str())
            .await?
            .is_none()
        {
            return Err(AppError::field(
                "辖区",
                format!(
                    "辖区代码 {} 不存在，请先导入区划",
                    user.jurisdiction.as_str()
                ),
            ));
        }
        let hash = hash_password_pooled(&user.password).await?;
        let id = self
            .store
            .insert_user(
                &user.username,
                user.display_name.trim(),
                user.role.code(),
                user.jurisdiction.as_str(),
                &hash,
                self.now_unix(),
                audit,
            )
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    AppError::Conflict(format!("用户名 {} 已被使用", user.username))
                } else {
                    e.into()
                }
            })?;
        Ok(id)
    }

    /// Password login. A wrong username and a wrong password get the same answer in the same time
    /// (an unknown name is verified against a dummy hash); repeated failures of a name or from an
    /// address are throttled before any hashing ([`LoginThrottle`]).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_addr: &str,
    ) -> AppResult<NewSession> {
        let username = username.trim();
        let now = self.security_now_unix();
        let attempt = self.login_throttle.begin(username, client_addr, now)?;
        let user = self.store.user_by_username(username).await?;
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let matches = verify_pooled(password, stored_hash).await?;
        let Some(user) = user.filter(|u| matches && !u.disabled) else {
            attempt.failed(now);
            audit(
                self,
                None,
                &audit_username(username),
                client_addr,
                "login_failed",
                "session",
                "",
            )
            .await?;
            return Err(AppError::BadCredentials);
        };
        attempt.succeeded();
        let actor = actor_from_parts(
            user.id,
            &user.username,
            &user.display_name,
            user.role,
            &user.jurisdiction,
            client_addr,
        );
        let token = random_hex(32);
        let csrf_token = random_hex(16);
        let now = self.security_now_unix();
        self.store
            .insert_session(
                &token_hash(&token),
                user.id,
                &csrf_token,
                now,
                now + SESSION_SECONDS,
            )
            .await?;
        self.store.delete_stale_sessions(now).await?;
        audit_by(self, &actor, "login", "session", "").await?;
        Ok(NewSession {
            token,
            actor,
            csrf_token,
        })
    }

    /// The actor behind a session cookie; tells an expired session from a missing one.
    pub async fn session(&self, token: &str, client_addr: &str) -> AppResult<SessionInfo> {
        let hash = token_hash(token);
        let now = self.security_now_unix();
        // A checkpoint scanner sends thousands of API calls a second with one token: the session is
        // remembered for up to SESSION_MEMORY_SECONDS (never past its expiry), so a check costs no
        // database read. Logout forgets it at once in this process.
        let remembered = self
            .sessions
            .read()
            .expect("session memory lock")
            .get(&hash)
            .filter(|(_, until)| *until > now)
            .map(|(user, _)| user.clone());
        let user = match remembered {
            Some(user) => Some(user),
            None => {
                let user = self.store.session_user(&hash, now).await?;
                if let Some(user) = &user {
                    let mut memory = self.sessions.write().expect("session memory lock");
                    if memory.len() > 100_000 {
                        memory.clear();
                    }
                    let until = (now + SESSION_MEMORY_SECONDS).min(user.expires_at);
                    memory.insert(hash.clone(), (user.clone(), until));
                }
                user
            }
        };
        match user {
            Some(user) => Ok(SessionInfo {
                actor: actor_from_parts(
                    user.user_id,
                    &user.username,
                    &user.display_name,
                    user.role,
                    &user.jurisdiction,
                    client_addr,
                ),
                csrf_token: user.csrf_token,
            }),
            None if self.store.session_expired(&hash, now).await? => Err(AppError::SessionExpired),
            None => Err(AppError::NotLoggedIn),
        }
    }

    pub async fn logout(&self, token: &str, actor: &Actor) -> AppResult<()> {
        let hash = token_hash(token);
        self.sessions
            .write()
            .expect("session memory lock")
            .remove(&hash);
        self.store.delete_session(&hash).await?;
        audit_by(self, actor, "logout", "session", "").await
    }

    /// The actor for an existing user acting outside the web (the command line): their role and
    /// jurisdiction apply as if they had logged in.
    pub async fn actor_for_user(&self, username: &str, client_addr: &str) -> AppResult<Actor> {
        let user = self
            .store
            .user_by_username(username)
            .await?
            .ok_or(AppError::NotFound("该用户"))?;
        Ok(actor_from_parts(
            user.id,
            &user.username,
            &user.display_name,
            user.role,
            &user.jurisdiction,
            client_addr,
        ))
    }

    /// Users whose jurisdiction lies inside the administrator's.
    pub async fn list_users(&self, actor: &Actor) -> AppResult<Vec<fangkong_store::UserRecord>> {
        actor.require(Permission::ManageUsers)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self.store.users_in((&lower, &upper)).await?)
    }
}

/// What an administrator (or the machine's operator, from the command line) changes about an account.
#[derive(Clone)]
pub enum UserChange {
    /// The user can no longer log in; every session and token ends at once.
    Disable,
    Enable,
    /// A new password (the password rule applies); every session and token ends.
    ResetPassword(String),
    /// A new role and jurisdiction; every session ends so the new rights apply at once.
    SetRole {
        role: Role,
        jurisdiction: RegionCode,
    },
    /// Log out everywhere: every browser session and API token of the user ends.
    LogoutEverywhere,
}

impl std::fmt::Debug for UserChange {
    // A reset password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.audit_words().as_str())
    }
}

impl UserChange {
    fn audit_words(&self) -> String {
        match self {
            UserChange::Disable => "停用账号".into(),
            UserChange::Enable => "启用账号".into(),
            UserChange::ResetPassword(_) => "重置密码".into(),
            UserChange::SetRole { role, jurisdiction } => {
                format!("角色改为{}，辖区改为{}", role.code(), jurisdiction.as_str())
            }
            UserChange::LogoutEverywhere => "强制下线（所有会话和令牌）".into(),
        }
    }
}

/// One account as its administrator sees it.
#[derive(Debug, Clone)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub jurisdiction: String,
    pub disabled: bool,
}

impl App {
    /// One user inside the administrator's jurisdiction.
    pub async fn user_detail(&self, actor: &Actor, user_id: i64) -> AppResult<UserView> {
        actor.require(Permission::ManageUsers)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AppError::NotFound("该用户"))?;
        if !actor.jurisdiction.contains(&user.jurisdiction) {
            // Like other records: a user outside the jurisdiction is as good as missing.
            return Err(AppError::NotFound("该用户"));
        }
        Ok(UserView {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            jurisdiction: user.jurisdiction.to_string(),
            disabled: user.disabled,
        })
    }

    /// An administrator changes an account whose jurisdiction lies inside their own; a new
    /// jurisdiction must lie inside it too. The change, the sessions it ends and its audit record
    /// are one transaction.
    pub async fn change_user(
        &self,
        actor: &Actor,
        user_id: i64,
        change: UserChange,
    ) -> AppResult<()> {
        let target = self.user_detail(actor, user_id).await?;
        if target.id == actor.user_id
            && matches!(change, UserChange::Disable | UserChange::SetRole { .. })
        {
            return Err(AppError::Invalid(
                "不能停用自己的账号或修改自己的角色，请由其他管理员操作".into(),
            ));
        }
        if let UserChange::SetRole { jurisdiction, .. } = &change {
            actor.require_within(jurisdiction)?;
        }
        let audit = audit_record(
            self,
            actor,
            "update",
            format!("user:{}", target.id),
            format!("{} {}", target.username, change.audit_words()),
        );
        self.apply_user_change(target.id, &target.username, &change, &audit)
            .await
    }

    /// The same from the command line (the machine's operator; no jurisdiction applies).
    pub async fn change_user_unchecked(
        &self,
        username: &str,
        change: UserChange,
        by: &str,
    ) -> AppResult<()> {
        let user = self
            .store
            .user_by_username(username.trim())
            .await?
            .ok_or(AppError::NotFound("该用户"))?;
        let mut audit = operator_audit(
            self,
            by,
            "update",
            format!("{} {}", user.username, change.audit_words()),
        );
        audit.target = format!("user:{}", user.id);
        self.apply_user_change(user.id, &user.username, &change, &audit)
            .await
    }

    /// Checks the change, then writes it, ends the sessions it ends and writes `audit`, in one
    /// transaction; this process forgets the ended sessions at once.
    async fn apply_user_change(
        &self,
        user_id: i64,
        username: &str,
        change: &UserChange,
        audit: &fangkong_store::AuditRecord,
    ) -> AppResult<()> {
        let write = match change {
            UserChange::Disable => AccountWrite::Disabled(true),
            UserChange::Enable => AccountWrite::Disabled(false),
            UserChange::ResetPassword(password) => {
                check_password_rule(password, username)?;
                AccountWrite::PasswordHash(hash_password_pooled(password).await?)
            }
            UserChange::SetRole { role, jurisdiction } => {
                if self.store.region(jurisdiction.as_str()).await?.is_none() {
                    return Err(AppError::field(
                        "辖区",
                        format!("辖区代码 {} 不存在", jurisdiction.as_str()),
                    ));
                }
                AccountWrite::Role {
                    role: role.code().into(),
                    jurisdiction: jurisdiction.as_str().into(),
                }
            }
            UserChange::LogoutEverywhere => AccountWrite::Nothing,
        };
        let sessions = if matches!(change, UserChange::Enable) {
            EndSessions::None
        } else {
            EndSessions::All
        };
        self.store
            .change_account(user_id, &write, sessions, audit)
            .await?;
        if sessions != EndSessions::None {
            self.forget_sessions_of(user_id, "")?;
        }
        Ok(())
    }

    /// Forgets a user's sessions in this process's memory (the database rows are already gone;
    /// other processes stop trusting their copy within `SESSION_MEMORY_SECONDS`).
    fn forget_sessions_of(&self, user_id: i64, keep_token_hash: &str) -> AppResult<()> {
        self.sessions
            .write()
            .map_err(|_| AppError::internal("session memory lock"))?
            .retain(|hash, (user, _)| user.user_id != user_id || hash == keep_token_hash);
        Ok(())
    }

    /// A user changes their own password: the current one must be right (a wrong one counts as a
    /// failed login), the new one follows the rule; the user's other sessions and tokens end.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current_token: &str,
        current_password: &str,
        new_password: &str,
    ) -> AppResult<()> {
        let now = self.security_now_unix();
        let attempt = self
            .login_throttle
            .begin(&actor.username, &actor.client_addr, now)?;
        let user = self
            .store
            .user_by_id(actor.user_id)
            .await?
            .ok_or(AppError::NotLoggedIn)?;
        if !verify_pooled(current_password, Some(user.password_hash)).await? {
            attempt.failed(now);
            return Err(AppError::Invalid("当前密码不对，请重新输入".into()));
        }
        // The right password: the attempt leaves the in-flight count without clearing earlier failures.
        drop(attempt);
        if current_password == new_password {
            return Err(AppError::Invalid("新密码不能和当前密码相同".into()));
        }
        check_password_rule(new_password, &actor.username)?;
        let hash = hash_password_pooled(new_password).await?;
        let keep = token_hash(current_token);
        // The new password, the other sessions ended and the audit record: one transaction.
        self.store
            .change_account(
                actor.user_id,
                &AccountWrite::PasswordHash(hash),
                EndSessions::AllBut(&keep),
                &audit_record(
                    self,
                    actor,
                    "update",
                    format!("user:{}", actor.user_id),
                    "修改本人密码（其他会话已下线）",
                ),
            )
            .await?;
        self.forget_sessions_of(actor.user_id, &keep)
    }
}

/// What the audit log says of an account created.
fn new_user_words(user: &NewUser) -> String {
    format!(
        "{} {} {}",
        user.username,
        user.role.code(),
        user.jurisdiction.as_str()
    )
}

/// The audit record of a change the machine's operator makes from the command line (no user id;
/// client "local"); an empty target is filled with the id the write creates.
fn operator_audit(
    app: &App,
    by: &str,
    action: &str,
    detail: String,
) -> fangkong_store::AuditRecord {
    fangkong_store::AuditRecord {
        id: 0,
        at: app.now_unix(),
        user_id: None,
        username: by.to_string(),
        action: action.to_string(),
        target: String::new(),
        detail,
        client_addr: "local".into(),
    }
}

fn actor_from_parts(
    user_id: i64,
    username: &str,
    display_name: &str,
    role: Role,
    jurisdiction: &RegionCode,
    client_addr: &str,
) -> Actor {
    Actor {
        user_id,
        username: username.to_string(),
        display_name: display_name.to_string(),
        role,
        jurisdiction: jurisdiction.clone(),
        client_addr: client_addr.to_string(),
        sealed: crate::Sealed,
    }
}
