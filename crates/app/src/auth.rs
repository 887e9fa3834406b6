//! Users, password login (argon2id), sessions and their CSRF tokens.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use fangkong_domain::region::RegionCode;
use fangkong_domain::role::{Permission, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Actor, App, AppError, AppResult, audit, audit_by};

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

#[derive(Debug, Clone)]
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
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
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
    if user.password.chars().count() < 8 {
        return Err(AppError::Invalid("密码至少8位".into()));
    }
    if user.display_name.trim().is_empty() {
        return Err(AppError::Invalid("请填写姓名或单位名称".into()));
    }
    Ok(())
}

impl App {
    /// Creates a user from the command line or the seed (no acting user: the operator of the machine).
    pub async fn create_user_unchecked(&self, user: &NewUser, by: &str) -> AppResult<i64> {
        validate_new_user(user)?;
        if self
            .store
            .region(user.jurisdiction.as_str())
            .await?
            .is_none()
        {
            return Err(AppError::Invalid(format!(
                "辖区代码 {} 不存在，请先导入区划",
                user.jurisdiction.as_str()
            )));
        }
        let hash = hash_password(&user.password)?;
        let id = self
            .store
            .insert_user(
                &user.username,
                user.display_name.trim(),
                user.role.code(),
                user.jurisdiction.as_str(),
                &hash,
                self.now_unix(),
            )
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    AppError::Conflict(format!("用户名 {} 已被使用", user.username))
                } else {
                    e.into()
                }
            })?;
        audit(
            self,
            None,
            by,
            "local",
            "create",
            &format!("user:{id}"),
            &format!(
                "{} {} {}",
                user.username,
                user.role.code(),
                user.jurisdiction.as_str()
            ),
        )
        .await?;
        Ok(id)
    }

    /// Creates a user on behalf of an administrator, inside the administrator's jurisdiction.
    pub async fn create_user(&self, actor: &Actor, user: &NewUser) -> AppResult<i64> {
        actor.require(Permission::ManageUsers)?;
        actor.require_within(&user.jurisdiction)?;
        self.create_user_unchecked(user, &actor.username).await
    }

    /// Password login. A wrong username and a wrong password get the same answer.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client_addr: &str,
    ) -> AppResult<NewSession> {
        let user = self.store.user_by_username(username.trim()).await?;
        let Some(user) =
            user.filter(|u| !u.disabled && password_matches(password, &u.password_hash))
        else {
            audit(
                self,
                None,
                username.trim(),
                client_addr,
                "login_failed",
                "session",
                "",
            )
            .await?;
            return Err(AppError::BadCredentials);
        };
        let actor = actor_from_parts(
            user.id,
            &user.username,
            &user.display_name,
            &user.role,
            &user.jurisdiction,
            client_addr,
        )?;
        let token = random_hex(32);
        let csrf_token = random_hex(16);
        let now = self.now_unix();
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
        let now = self.now_unix();
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
                    &user.role,
                    &user.jurisdiction,
                    client_addr,
                )?,
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
        actor_from_parts(
            user.id,
            &user.username,
            &user.display_name,
            &user.role,
            &user.jurisdiction,
            client_addr,
        )
    }

    /// Users whose jurisdiction lies inside the administrator's.
    pub async fn list_users(&self, actor: &Actor) -> AppResult<Vec<fangkong_store::UserRecord>> {
        actor.require(Permission::ManageUsers)?;
        let (lower, upper) = actor.jurisdiction_range();
        Ok(self.store.users_in((&lower, &upper)).await?)
    }
}

fn actor_from_parts(
    user_id: i64,
    username: &str,
    display_name: &str,
    role: &str,
    jurisdiction: &str,
    client_addr: &str,
) -> AppResult<Actor> {
    Ok(Actor {
        user_id,
        username: username.to_string(),
        display_name: display_name.to_string(),
        role: Role::parse(role).map_err(AppError::Internal)?,
        jurisdiction: RegionCode::parse(jurisdiction).map_err(AppError::Internal)?,
        client_addr: client_addr.to_string(),
    })
}
