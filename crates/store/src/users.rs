//! Users and their sessions.

use fangkong_domain::region::RegionCode;
use fangkong_domain::role::Role;

use crate::typed::{StoredCode, StoredRegion};
use crate::{Store, StoreResult, with_pool};

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[sqlx(try_from = "StoredCode<Role>")]
    pub role: Role,
    #[sqlx(try_from = "StoredRegion")]
    pub jurisdiction: RegionCode,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for UserRecord {
    // The password hash stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("jurisdiction", &self.jurisdiction)
            .finish_non_exhaustive()
    }
}

/// The user behind a live session, with the session's CSRF token.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    #[sqlx(try_from = "StoredCode<Role>")]
    pub role: Role,
    #[sqlx(try_from = "StoredRegion")]
    pub jurisdiction: RegionCode,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// What [`Store::change_account`] writes to the account. No `Debug`: it can hold a password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum AccountWrite {
    Disabled(bool),
    Role {
        role: String,
        jurisdiction: String,
    },
    /// A new password's hash.
    PasswordHash(String),
    /// Only the sessions end (log out everywhere).
    Nothing,
}

/// Which of the user's sessions (browser cookies and API tokens alike) an account change ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndSessions<'a> {
    None,
    All,
    /// Every one but the session whose token hash this is (the user's own, changing their password).
    AllBut(&'a str),
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, jurisdiction, password_hash, disabled, created_at";

impl Store {
    /// Creates a user with the audit record of its creation (target: `user:<new id>`), in one
    /// transaction; fails with a unique violation when the username is taken.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_user(
        &self,
        username: &str,
        display_name: &str,
        role: &str,
        jurisdiction: &str,
        password_hash: &str,
        now: i64,
        audit: &crate::AuditRecord,
    ) -> StoreResult<i64> {
        let id = with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (username, display_name, role, jurisdiction, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(username)
            .bind(display_name)
            .bind(role)
            .bind(jurisdiction)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            crate::audit::write_audit!(&mut *tx, audit, format!("user:{id}"));
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        self.row_by(USER_COLUMNS, "users", "username", username)
            .await
    }

    pub async fn user_by_id(&self, user_id: i64) -> StoreResult<Option<UserRecord>> {
        self.row_by(USER_COLUMNS, "users", "id", user_id).await
    }

    /// Changes an account, ends its sessions as the change says, and writes the change's audit
    /// record, in one transaction: a change is never in force without its record, nor its record
    /// without the sessions ended.
    pub async fn change_account(
        &self,
        user_id: i64,
        change: &AccountWrite,
        sessions: EndSessions<'_>,
        audit: &crate::AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            match change {
                AccountWrite::Disabled(disabled) => {
                    sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                        .bind(*disabled)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                AccountWrite::Role { role, jurisdiction } => {
                    sqlx::query("UPDATE users SET role = $1, jurisdiction = $2 WHERE id = $3")
                        .bind(role)
                        .bind(jurisdiction)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                AccountWrite::PasswordHash(hash) => {
                    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                        .bind(hash)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                AccountWrite::Nothing => {}
            }
            let keep = match sessions {
                EndSessions::None => None,
                EndSessions::All => Some(""),
                EndSessions::AllBut(keep) => Some(keep),
            };
            if let Some(keep) = keep {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(user_id)
                    .bind(keep)
                    .execute(&mut *tx)
                    .await?;
            }
            crate::audit::write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Ends every session (browser cookies and API bearer tokens alike) of a user except the one
    /// whose token hash is `keep` (pass "" to end them all); returns how many were ended.
    pub async fn delete_sessions_of_user(&self, user_id: i64, keep: &str) -> StoreResult<u64> {
        let removed = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                .bind(user_id)
                .bind(keep)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed)
    }

    /// Users whose jurisdiction lies inside the code range, by username.
    pub async fn users_in(&self, subtree: (&str, &str)) -> StoreResult<Vec<UserRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE jurisdiction >= $1 AND jurisdiction < $2 ORDER BY username"
        );
        let users = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(subtree.0)
                .bind(subtree.1)
                .fetch_all(pool)
                .await?
        });
        Ok(users)
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf_token)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The session's user, if the session exists, has not expired and the user is not disabled.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<SessionUser>> {
        let user = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.id AS user_id, u.username, u.display_name, u.role, u.jurisdiction, \
                        s.csrf_token, s.expires_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = $3",
            )
            .bind(token_hash)
            .bind(now)
            .bind(false)
            .fetch_optional(pool)
            .await?
        });
        Ok(user)
    }

    /// True when a session with this token existed but has expired (to tell the user why they must log in).
    pub async fn session_expired(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1 AND expires_at <= $2")
                .bind(token_hash)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        Ok(count > 0)
    }

    pub async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Removes sessions that expired more than a day before `now` (recently expired ones are kept so
    /// the login page can say "your session expired").
    pub async fn delete_stale_sessions(&self, now: i64) -> StoreResult<u64> {
        let removed = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now - 86_400)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed)
    }
}

impl Store {
    /// An installation-wide setting.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let value = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        Ok(value)
    }

    /// Stores `value` under `key`, replacing what was there, with the audit record of the decision
    /// (a setting a user changes: the regime in force), in one transaction.
    pub async fn put_setting_audited(
        &self,
        key: &str,
        value: &str,
        audit: &crate::AuditRecord,
    ) -> StoreResult<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
            crate::audit::write_audit!(&mut *tx, audit);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Stores `value` under `key` unless one is there; returns the value that is (first writer wins,
    /// so two processes starting together agree).
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
        });
        Ok(self
            .setting(key)
            .await?
            .unwrap_or_else(|| value.to_string()))
    }
}
